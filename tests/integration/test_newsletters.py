"""Newsletter double opt-in through the functions and the local Firestore: signup from the
company's site, the link followed from the outbox mail, one-click unsubscribe, staff list."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from shared.domain.newsletters import LinkClaims, sign_link, subscription_id
from shared.settings import get_settings
from tests.support import SITE, docs, seed_company

FORM_KEY = "acme.public-key-123"
SUBS = "companies/acme/newsletter_subscriptions"


def sign_up(function_client: Any, **fields: Any) -> Any:
    body = {"form_key": FORM_KEY, "email": "ann@example.com", **fields}
    return function_client("newsletter_signup").post("/", json=body, headers={"Origin": SITE})


def follow(function_client: Any, url: str, method: str = "GET") -> Any:
    """Open a link from a mail with the function it names."""
    parts = urlsplit(url)
    client = function_client(parts.path.strip("/"))
    return client.open(f"/?{parts.query}", method=method)


def test_signup_confirm_by_the_mailed_link_then_unsubscribe(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """202 with CORS; pending until the link in the outbox mail is followed; the
    List-Unsubscribe link (one-click POST) ends it with the time recorded."""
    seed_company(db)
    res = sign_up(function_client, frequency="monthly", topics=["tips"])
    assert (202, SITE) == (res.status_code, res.headers.get("Access-Control-Allow-Origin"))
    sub_id = subscription_id("ann@example.com")
    assert "pending" == docs(db, SUBS)[sub_id]["status"]
    (mail,) = docs(db, "outbox").values()
    (link,) = re.findall(r"https?://\S+/newsletter_confirm\?token=\S+", mail["body"])
    page = follow(function_client, link)
    assert (200, True) == (page.status_code, b"Subscription confirmed" in page.data)
    stored = docs(db, SUBS)[sub_id]
    assert ("active", "monthly", ["tips"]) == (
        stored["status"],
        stored["frequency"],
        stored["topics"],
    )
    unsubscribe = mail["headers"]["List-Unsubscribe"].strip("<>")
    assert 200 == follow(function_client, unsubscribe, "POST").status_code
    stored = docs(db, SUBS)[sub_id]
    assert ("unsubscribed", True) == (stored["status"], stored["unsubscribed_at"] is not None)


def test_second_signup_the_same_day_sends_no_second_mail(db: Any, function_client: Any) -> None:
    """The confirmation is resent at most once a day; both answers are the same 202."""
    seed_company(db)
    answers = [sign_up(function_client).get_json() for _ in range(2)]
    assert answers[0] == answers[1]
    assert 1 == len(docs(db, "outbox"))


def test_expired_forged_and_missing_tokens(db: Any, function_client: Any) -> None:
    """An expired link is 409 saying so; a forged one or none 400; nothing is activated."""
    seed_company(db)
    sign_up(function_client)
    key = get_settings().signing_key.get_secret_value()
    sub_id = subscription_id("ann@example.com")
    nonce = db.document(f"{SUBS}/{sub_id}").get().to_dict()["nonce"]
    expired = sign_link(key, LinkClaims("confirm", "acme", sub_id, nonce, int(time.time()) - 1))
    forged = sign_link("another-key", LinkClaims("confirm", "acme", sub_id, nonce, None))
    confirm = function_client("newsletter_confirm")
    answers = [confirm.get(f"/?token={t}") for t in (expired, forged, "")]
    assert [409, 400, 400] == [a.status_code for a in answers]
    assert "expired" in answers[0].get_json()["error"]["message"]
    assert "pending" == docs(db, SUBS)[sub_id]["status"]


def test_staff_see_subscriptions_without_their_nonce(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Managers list subscriptions through staff_api (the confirmation nonce is never
    shown); users may not; another company's manager gets 403."""
    seed_company(db)
    seed_company(db, "globex")
    sign_up(function_client)
    api = function_client("staff_api")
    path = "/companies/acme/newsletter_subscriptions"
    listed = api.get(path, headers=staff_auth("acme", "manager")).get_json()["items"]
    assert (["ann@example.com"], False) == ([i["email"] for i in listed], "nonce" in listed[0])
    assert (403, 403) == (
        api.get(path, headers=staff_auth("acme", "user")).status_code,
        api.get(path, headers=staff_auth("globex", "admin")).status_code,
    )
