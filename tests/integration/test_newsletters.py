"""Newsletter double opt-in through the functions and the local Firestore: signup from the
company's site, the link from the outbox mail opened (a page: only its button's POST
confirms, so a link scanner's GET does not), one-click unsubscribe, staff list."""

from __future__ import annotations

import html
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


def follow(function_client: Any, url: str, method: str = "GET", **kwargs: Any) -> Any:
    """Open a link from a mail with the function it names."""
    parts = urlsplit(url)
    client = function_client(parts.path.strip("/"))
    return client.open(f"/?{parts.query}", method=method, **kwargs)


def press_button(function_client: Any, url: str, page: Any) -> Any:
    """Submit the page's form as a browser would: POST its hidden fields, urlencoded, to
    the page's own address."""
    text = page.get_data(as_text=True)
    assert '<form method="post">' in text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text))
    form = {k: html.unescape(v) for k, v in fields.items()}
    return follow(function_client, url, "POST", data=form)


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
    assert (200, True, "text/html; charset=utf-8") == (
        page.status_code,
        b"Acme Plumbing" in page.data,
        page.headers["Content-Type"],
    )
    assert "pending" == docs(db, SUBS)[sub_id]["status"]
    done = press_button(function_client, link, page)
    assert (200, True) == (done.status_code, b"Subscription confirmed" in done.data)
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


def test_signing_up_again_while_pending_keeps_the_topics_and_name(
    db: Any, function_client: Any
) -> None:
    """A second signup before confirming (another form of the site, other topics) adds
    its topics to the pending ones, and one without a name keeps the name given; the
    confirmed subscription has them all."""
    seed_company(db)
    assert 202 == sign_up(function_client, name="Ann", topics=["tips", "offers"]).status_code
    assert 202 == sign_up(function_client, topics=["offers", "news"]).status_code
    stored = docs(db, SUBS)[subscription_id("ann@example.com")]
    assert ("pending", ["tips", "offers", "news"], "Ann") == (
        stored["status"],
        stored["topics"],
        stored["name"],
    )
    (mail,) = docs(db, "outbox").values()
    (link,) = re.findall(r"https?://\S+/newsletter_confirm\?token=\S+", mail["body"])
    press_button(function_client, link, follow(function_client, link))
    stored = docs(db, SUBS)[subscription_id("ann@example.com")]
    assert ("active", ["tips", "offers", "news"]) == (stored["status"], stored["topics"])


def test_link_scanners_confirm_nothing_and_confirming_twice_is_harmless(
    db: Any, function_client: Any
) -> None:
    """However often the link is fetched (GET, HEAD: what a scanner does) the signup stays
    pending; the page names the company, escaped; the first POST confirms and a second
    answers 'already confirmed' (200) keeping the first confirmation's time."""
    seed_company(db, name='Bob & <script>alert("x")</script>')
    sign_up(function_client)
    (mail,) = docs(db, "outbox").values()
    (link,) = re.findall(r"https?://\S+/newsletter_confirm\?token=\S+", mail["body"])
    pages = [follow(function_client, link, method) for method in ("GET", "HEAD", "GET")]
    sub_id = subscription_id("ann@example.com")
    assert ([200, 200, 200], "pending") == (
        [p.status_code for p in pages],
        docs(db, SUBS)[sub_id]["status"],
    )
    text = pages[0].get_data(as_text=True)
    assert ("<script>" in text, "Bob &amp; &lt;script&gt;" in text) == (False, True)
    first = press_button(function_client, link, pages[0])
    confirmed_at = docs(db, SUBS)[sub_id]["confirmed_at"]
    again = press_button(function_client, link, pages[0])
    reopened = follow(function_client, link)
    assert (200, 200, 200) == (first.status_code, again.status_code, reopened.status_code)
    headings = [
        re.findall(r"<h1>([^<]+)</h1>", r.get_data(as_text=True)) for r in (first, again, reopened)
    ]
    assert [["Subscription confirmed"], ["Already confirmed"], ["Already confirmed"]] == headings
    assert ("active", confirmed_at) == (
        docs(db, SUBS)[sub_id]["status"],
        docs(db, SUBS)[sub_id]["confirmed_at"],
    )


def test_expired_forged_and_missing_tokens(db: Any, function_client: Any) -> None:
    """On GET and POST alike: an expired link is a 409 page saying so; a forged one or
    none a 400 page (for a browser; an API client gets the JSON error); nothing is
    activated."""
    seed_company(db)
    sign_up(function_client)
    key = get_settings().signing_key.get_secret_value()
    sub_id = subscription_id("ann@example.com")
    nonce = db.document(f"{SUBS}/{sub_id}").get().to_dict()["nonce"]
    expired = sign_link(key, LinkClaims("confirm", "acme", sub_id, nonce, int(time.time()) - 1))
    forged = sign_link("another-key", LinkClaims("confirm", "acme", sub_id, nonce, None))
    confirm = function_client("newsletter_confirm")
    tokens = (expired, forged, "")
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    answers = [confirm.get(f"/?token={t}", headers=browser) for t in tokens]
    answers += [confirm.post("/", data={"token": t}, headers=browser) for t in tokens]
    assert [409, 400, 400] * 2 == [a.status_code for a in answers]
    assert {"text/html; charset=utf-8"} == {a.headers["Content-Type"] for a in answers}
    assert (True, True, True) == (
        b"expired" in answers[0].data,
        b"expired" in answers[3].data,
        b"not valid" in answers[4].data,
    )
    api = confirm.post("/", data={"token": expired}, headers={"Accept": "application/json"})
    assert (409, "failed-precondition") == (api.status_code, api.get_json()["error"]["code"])
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


def test_refused_signups_are_readable_by_the_companys_pages(db: Any, function_client: Any) -> None:
    """A signup refused with 400 from an allowed page (the company found by ``?key=``)
    carries the CORS headers, so the page can show the message; another origin gets none."""
    seed_company(db)
    client = function_client("newsletter_signup")

    def refused(origin: str) -> tuple[int, str | None]:
        body = {"email": "not-an-address", "frequency": "weekly"}
        res = client.post(f"/?key={FORM_KEY}", json=body, headers={"Origin": origin})
        return res.status_code, res.headers.get("Access-Control-Allow-Origin")

    assert [(400, SITE), (400, None)] == [refused(SITE), refused("https://evil.example")]


def test_a_link_scanner_opening_the_unsubscribe_link_unsubscribes_nobody(
    db: Any, function_client: Any
) -> None:
    """The unsubscribe link in the mail, fetched (GET, as a mail provider's scanner does):
    a page asking to confirm, naming the company, and the subscription still active. Its
    button (POST) unsubscribes; so does the one-click POST of a mail client
    (``List-Unsubscribe=One-Click``, RFC 8058), tried on a second subscriber."""
    seed_company(db)
    links = {}
    for email in ("ann@example.com", "bob@example.com"):
        sign_up(function_client, email=email)
        sub_id = subscription_id(email)
        mail = next(m for m in docs(db, "outbox").values() if m["to"] == email)
        (confirm,) = re.findall(r"https?://\S+/newsletter_confirm\?token=\S+", mail["body"])
        press_button(function_client, confirm, follow(function_client, confirm))
        links[sub_id] = mail["headers"]["List-Unsubscribe"].strip("<>")
    ann, bob = subscription_id("ann@example.com"), subscription_id("bob@example.com")
    scanned = follow(function_client, links[ann])
    assert "active" == docs(db, SUBS)[ann]["status"]
    assert (200, True) == (scanned.status_code, b"Acme Plumbing" in scanned.data)
    done = press_button(function_client, links[ann], scanned)
    assert (200, "unsubscribed") == (done.status_code, docs(db, SUBS)[ann]["status"])
    one_click = {"List-Unsubscribe": "One-Click"}
    assert 200 == follow(function_client, links[bob], "POST", data=one_click).status_code
    assert "unsubscribed" == docs(db, SUBS)[bob]["status"]
