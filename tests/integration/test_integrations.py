"""Integrations, social connections and secrets through the functions, real ID tokens and
the local Firestore: no plaintext in any document or response, the wrong key fails
loudly, a refused token refresh asks to reconnect the account."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters import token_refresher
from shared.adapters.crypto import cipher, new_key
from shared.domain.secrets import SecretUnreadable
from shared.services.integrations import reveal_secret, reveal_tokens
from tests.fakes import FailingTokenRefresher
from tests.hostile.invariants import all_documents
from tests.integration.event_support import memory_queue
from tests.integration.periodic_support import drain
from tests.support import seed_company

BASE = "/companies/acme"
PLAIN = ("sk_live_SECRET_42", "hs-CRED-9", "at-TOKEN-1", "rt-TOKEN-1")


@pytest.fixture
def api(db: Any, function_client: Any) -> Any:
    seed_company(db)
    seed_company(db, "globex")
    return function_client("integrations")


def store_everything(api: Any, admin: dict[str, str], expires_in: timedelta) -> list[Any]:
    """A named secret, an integration with credentials and a LinkedIn connection."""
    expires = (datetime.now(UTC) + expires_in).isoformat()
    bodies = [
        ("secrets", {"name": "stripe", "value": PLAIN[0], "description": "Billing"}),
        (
            "integrations",
            {
                "type": "crm",
                "provider": "hubspot",
                "display_name": "HubSpot",
                "credentials": {"api_key": PLAIN[1]},
            },
        ),
        (
            "social_connections",
            {
                "platform": "linkedin",
                "platform_user_id": "li-7",
                "access_token": PLAIN[2],
                "refresh_token": PLAIN[3],
                "expires_at": expires,
            },
        ),
    ]
    return [api.post(f"{BASE}/{name}", json=body, headers=admin) for name, body in bodies]


def test_secrets_never_appear_in_firestore_or_any_response(
    db: Any, api: Any, staff_auth: Any
) -> None:
    """Every document of the project is scanned: no plaintext; every response (create,
    list, get) shows flags only; the service opens the secret again."""
    admin = staff_auth("acme", "admin")
    created = store_everything(api, admin, timedelta(days=30))
    assert [201, 201, 201] == [r.status_code for r in created]
    responses = [r.get_data(as_text=True) for r in created]
    for name, item in (("secrets", "stripe"), ("social_connections", "linkedin")):
        responses.append(api.get(f"{BASE}/{name}", headers=admin).get_data(as_text=True))
        responses.append(api.get(f"{BASE}/{name}/{item}", headers=admin).get_data(as_text=True))
    raw = json.dumps(all_documents(db), default=str)
    leaks = [p for p in PLAIN if p in raw or any(p in r for r in responses)]
    assert [] == leaks
    connection = created[2].get_json()
    assert (True, True, "active") == (
        connection["has_access_token"],
        connection["has_refresh_token"],
        connection["status"],
    )
    store = bootstrap.document_store()
    assert PLAIN[0] == reveal_secret(store, cipher(), "acme", "stripe")


def test_the_wrong_key_fails_loudly(
    db: Any, api: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With another key configured, opening names both keys instead of returning garbage;
    acme's refresh task fails (503, logged, for Cloud Tasks to retry and then give up, the
    error on the task) and leaves the connection as it was."""
    store_everything(api, staff_auth("acme", "admin"), timedelta(minutes=5))
    sealed_by = cipher().key_id
    monkeypatch.setenv("GROWTHKIT_SECRETS_KEY", new_key())
    bootstrap.reset()
    with pytest.raises(SecretUnreadable) as err:
        reveal_secret(bootstrap.document_store(), cipher(), "acme", "stripe")
    assert (True, True) == (sealed_by in str(err.value), cipher().key_id in str(err.value))
    before = db.document("companies/acme/social_connections/linkedin").get().to_dict()
    queue = memory_queue(monkeypatch)
    assert 1 == function_client("refresh_social_tokens").post("/").get_json()["scheduled"]
    (answer,) = drain(function_client, queue, ok=(503,))
    after = db.document("companies/acme/social_connections/linkedin").get().to_dict()
    message = answer["error"]["message"]
    assert (True, True, before) == ("SecretUnreadable" in message, sealed_by in message, after)


def test_a_refused_refresh_asks_to_reconnect(
    db: Any, api: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform refuses the refresh token: the connection reads back reconnect with the
    reason for staff; a connection far from expiry is not touched."""
    admin = staff_auth("acme", "admin")
    store_everything(api, admin, timedelta(minutes=10))
    failing = FailingTokenRefresher()
    monkeypatch.setattr(token_refresher, "token_refresher", functools.cache(lambda: failing))
    queue = memory_queue(monkeypatch)
    assert 1 == function_client("refresh_social_tokens").post("/").get_json()["scheduled"]
    (run,) = drain(function_client, queue)
    assert ({"due": 1, "reconnect": 1}, ["linkedin"]) == (
        {k: run["result"]["result"][k] for k in ("due", "reconnect")},
        failing.asked,
    )
    shown = api.get(f"{BASE}/social_connections/linkedin", headers=admin).get_json()
    assert ("reconnect", True, True) == (
        shown["status"],
        "invalid_grant" in shown["error_message"],
        shown["status_changed_at"] is not None,
    )
    manager = staff_auth("acme", "manager")
    listed = api.get(f"{BASE}/social_connections?status=reconnect", headers=manager).get_json()
    assert ["linkedin"] == [i["id"] for i in listed["items"]]


def test_the_local_refresher_renews_tokens(
    db: Any, api: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make serve's refresher: a new access token, sealed, and a later expiry."""
    store_everything(api, staff_auth("acme", "admin"), timedelta(minutes=10))
    queue = memory_queue(monkeypatch)
    function_client("refresh_social_tokens").post("/")
    (run,) = drain(function_client, queue)
    assert 1 == run["result"]["result"]["refreshed"]
    access, refresh = reveal_tokens(bootstrap.document_store(), cipher(), "acme", "linkedin")
    assert (True, PLAIN[3]) == (access.startswith("local-linkedin-"), refresh)


def test_roles_and_other_companies(api: Any, staff_auth: Any) -> None:
    """Managers read integrations and connections but write nothing; users read none;
    secrets are admins' alone; globex's admin gets 403 on every acme URL."""
    admin = staff_auth("acme", "admin")
    store_everything(api, admin, timedelta(days=30))
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user")
    foreign = staff_auth("globex", "admin")
    body = {"type": "calendar", "provider": "google", "display_name": "Cal"}
    answers = {
        "manager reads": api.get(f"{BASE}/integrations", headers=manager).status_code,
        "manager writes": api.post(f"{BASE}/integrations", json=body, headers=manager).status_code,
        "manager secrets": api.get(f"{BASE}/secrets", headers=manager).status_code,
        "user reads": api.get(f"{BASE}/social_connections", headers=user).status_code,
    }
    for name in ("integrations", "social_connections/linkedin", "secrets/stripe"):
        for method in ("GET", "PATCH", "DELETE"):
            res = api.open(f"{BASE}/{name}", method=method, json={}, headers=foreign)
            answers[f"foreign {method} {name}"] = res.status_code
    expected = {"manager reads": 200, "manager writes": 403, "manager secrets": 403}
    expected |= {"user reads": 403} | {k: 403 for k in answers if k.startswith("foreign")}
    assert expected == answers


def test_publishing_connections_keep_their_secrets_and_urls_checked(
    db: Any, api: Any, staff_auth: Any
) -> None:
    """A WordPress site (and a second one, labelled) and a webhook: application password
    and signing secret sealed, shown as flags only; what publishing needs is required,
    and URLs are held to the rules of every URL staff give (no inside address, no plain
    http with a password)."""
    admin = staff_auth("acme", "admin")
    wordpress = {
        "platform": "wordpress",
        "site_url": "https://blog.acme.example",
        "username": "editor",
        "app_password": "wp-APP-PASS-1",
    }
    hook = {
        "platform": "webhook",
        "webhook_url": "https://hooks.zapier.com/hooks/catch/1/abc/",
        "webhook_secret": "whsec-SECRET-2",
    }
    bodies = [wordpress, wordpress | {"label": "shop"}, hook]
    made = [api.post(f"{BASE}/social_connections", json=b, headers=admin) for b in bodies]
    assert [201] * 3 == [r.status_code for r in made]
    assert ["wordpress", "wordpress-shop", "webhook"] == [r.get_json()["id"] for r in made]
    assert (True, True) == (
        made[0].get_json()["has_app_password"],
        made[2].get_json()["has_webhook_secret"],
    )
    listed = api.get(f"{BASE}/social_connections", headers=admin).get_data(as_text=True)
    raw = json.dumps(all_documents(db), default=str) + listed
    assert [] == [s for s in ("wp-APP-PASS-1", "whsec-SECRET-2") if s in raw]
    refused = [
        wordpress | {"label": "plain", "site_url": "http://blog.acme.example"},
        {"platform": "wordpress", "label": "nopass", "site_url": "https://b.acme.example"},
        hook | {"label": "inside", "webhook_url": "https://169.254.169.254/latest"},
        {"platform": "linkedin", "platform_user_id": "li-7"},
    ]
    answers = [api.post(f"{BASE}/social_connections", json=b, headers=admin) for b in refused]
    assert [400] * 4 == [r.status_code for r in answers]
    assert "use https://" in json.dumps(answers[0].get_json())
    assert "needs username, app_password" in json.dumps(answers[1].get_json())
