"""Public webhooks started with exactly the environment the deploy plan gives them, through
functions-framework and the local Firestore: they take only what their secret verifies,
and a function deployed without a secret it needs refuses to start.

Twilio's signature is computed here as Twilio documents it (HMAC-SHA1 under the auth
token of the URL it requested followed by every POST field, name then value, sorted by
name; base64), not with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from shared import bootstrap
from shared.campaigns.domain.compliance import suppression_path
from shared.deploy.plan import Mail, Sms, Target, function_step
from shared.manifest import COMMON_SECRETS, FUNCTIONS, Trigger, by_name
from tests.support import seed_company

TARGET = Target(
    "growthkit-sample",
    "europe-west1",
    mail=Mail("smtp.sendgrid.net", "apikey", "no-reply@growthkit-sample.example"),
    sms=Sms("AC" + "0" * 32, "+15005550006"),
)
NUMBER = "+15550102030"


def twilio_signature(url: str, params: Mapping[str, str], token: str) -> str:
    """X-Twilio-Signature as Twilio's webhook security page describes it."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_the_twilio_signature_here_is_the_documented_one() -> None:
    """Twilio's own worked example (auth token 12345), so the signer below is right."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" == twilio_signature(url, params, "12345")


def plan_environment(name: str) -> dict[str, str]:
    """The variables the deploy plan sets for ``name``: its ``--set-env-vars``, and a value
    for each one ``--set-secrets`` maps from Secret Manager."""
    flags = dict(
        arg[2:].split("=", 1)
        for arg in function_step(by_name(name), TARGET).argv
        if arg.startswith("--") and "=" in arg
    )
    env = dict(pair.split("=", 1) for pair in flags["set-env-vars"].split(","))
    secrets = [pair.split("=", 1)[0] for pair in flags["set-secrets"].split(",")]
    return env | {secret: f"deployed-{secret.lower()}-value" for secret in secrets}


def deploy_locally(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> None:
    """This process's environment as the deployed function's (Firestore stays local)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()


def test_sms_inbound_as_deployed_takes_only_posts_twilio_signed(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unsigned or wrongly signed, STOP opts nobody out and START re-subscribes nobody
    (401, nothing written); signed with the auth token, both work."""
    seed_company(db)
    env = plan_environment("sms_inbound")
    deploy_locally(monkeypatch, env)
    inbound, path = function_client("sms_inbound"), suppression_path("acme", "sms", NUMBER)
    url = env["GROWTHKIT_FUNCTIONS_BASE_URL"] + "/sms_inbound?company_id=acme"
    token = env.get("GROWTHKIT_SMS_AUTH_TOKEN", "")

    def post(text: str, token: str | None) -> int:
        form = {"From": NUMBER, "Body": text, "MessageSid": "SM1"}
        headers = {"X-Twilio-Signature": twilio_signature(url, form, token)} if token else {}
        return int(inbound.post("/?company_id=acme", data=form, headers=headers).status_code)

    assert (401, 401, False) == (
        post("STOP", None),
        post("STOP", "guess"),
        db.document(path).get().exists,
    )
    assert (200, True) == (post("STOP", token), db.document(path).get().exists)
    assert (401, 401, True) == (
        post("START", None),
        post("START", "guess"),
        db.document(path).get().exists,
    )
    assert (200, False) == (post("START", token), db.document(path).get().exists)


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("sms_inbound", "GROWTHKIT_SMS_AUTH_TOKEN"),
        ("email_events", "GROWTHKIT_EMAIL_EVENTS_SECRET"),
        ("integrations", "GROWTHKIT_SECRETS_KEY"),
        ("lead_intake", "GROWTHKIT_SIGNING_KEY"),
    ],
)
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_a_function_deployed_without_its_secret_refuses_to_start(
    functions_env: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    variable: str,
    value: str | None,
) -> None:
    """The plan's environment less one secret the function needs: loading the function
    fails, and the log names the variable."""
    import functions_framework

    env = plan_environment(name)
    assert variable in env, f"the deploy plan gives {name} no {variable}"
    deploy_locally(monkeypatch, {k: v for k, v in env.items() if k != variable})
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, value)
    with caplog.at_level(logging.CRITICAL), pytest.raises(Exception, match=variable):
        functions_framework.create_app(name, "functions/main.py")
    assert any(variable in r.getMessage() and r.levelno == logging.CRITICAL for r in caplog.records)


# An unsigned post each webhook would otherwise act on (a new webhook needs one here).
UNSIGNED = {
    "sms_inbound": {
        "path": "/?company_id=acme",
        "data": {"From": NUMBER, "Body": "STOP", "MessageSid": "SM2"},
    },
    "email_events": {
        "path": "/",
        "json": {"events": [{"type": "complained", "event_id": "e1", "recipient": "a@b.co"}]},
    },
}


@pytest.mark.parametrize("name", [f.name for f in FUNCTIONS if f.webhook])
def test_every_webhook_as_deployed_refuses_unsigned_posts(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Each webhook names a secret of its own, and deployed, an unsigned post is a 401
    that writes nothing."""
    assert set(by_name(name).secrets) - set(COMMON_SECRETS), f"{name} names no secret"
    seed_company(db)
    deploy_locally(monkeypatch, plan_environment(name))
    post = dict(UNSIGNED[name])
    res = function_client(name).post(post.pop("path"), **post)
    assert (401, ["companies"], []) == (
        res.status_code,
        [c.id for c in db.collections()],
        [c.id for c in db.document("companies/acme").collections()],
    )


@pytest.mark.parametrize("name", [f.name for f in FUNCTIONS])
def test_every_function_starts_with_what_the_plan_gives_it(
    functions_env: None, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The plan and the start-up check agree: no function is deployed without a secret
    it refuses to start without."""
    import functions_framework

    deploy_locally(monkeypatch, plan_environment(name))
    kind = "cloudevent" if by_name(name).trigger is Trigger.EVENT else "http"
    assert functions_framework.create_app(name, "functions/main.py", kind)
