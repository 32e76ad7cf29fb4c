"""A function that sends, started with the deploy plan's environment but on the outbox
backend (which delivers nothing), refuses to start in production and says which setting
to change; on the plan's real backends it starts."""

from __future__ import annotations

import logging

import pytest

from shared.manifest import FUNCTIONS
from tests.integration.test_webhook_secrets import deploy_locally, plan_environment

SENDERS = [f.name for f in FUNCTIONS if f.sends]
OUTBOX = [
    ("GROWTHKIT_MAIL_BACKEND", "GROWTHKIT_MAIL_BACKEND=smtp"),
    ("GROWTHKIT_SMS_BACKEND", "GROWTHKIT_SMS_BACKEND=http"),
]


@pytest.mark.parametrize("name", SENDERS)
@pytest.mark.parametrize(("variable", "setting"), OUTBOX, ids=["mail", "sms"])
@pytest.mark.parametrize("value", [None, "outbox"], ids=["default", "outbox"])
def test_a_sending_function_on_the_outbox_refuses_to_start(
    functions_env: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    variable: str,
    setting: str,
    value: str | None,
) -> None:
    """Left at the default, or set to the outbox: loading the function fails, and one
    critical line names the setting to change."""
    import functions_framework

    env = plan_environment(name)
    deploy_locally(monkeypatch, {k: v for k, v in env.items() if k != variable})
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, value)
    with caplog.at_level(logging.CRITICAL), pytest.raises(Exception, match=setting):
        functions_framework.create_app(name, "functions/main.py")
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert 1 == len(said) and setting in said[0] and name in said[0]


def test_locally_the_outbox_is_fine(functions_env: None) -> None:
    """Outside production a sending function starts on the outbox (tests, `make serve`
    with nothing configured)."""
    import functions_framework

    assert functions_framework.create_app("run_task", "functions/main.py")
