"""Lead intake through functions-framework and the local Firestore with the real client."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import quote

from shared.domain.common import NOT_AN_ADDRESS
from shared.domain.leads import lead_id_for
from tests.support import SITE, docs, seed_company

KEY = "acme.public-key-123"
FORM = "application/x-www-form-urlencoded"


def test_browser_form_post_with_preflight(db: Any, function_client: Any) -> None:
    """Preflight from an allowed origin, then a urlencoded post as a browser sends it."""
    seed_company(db)
    client = function_client("lead_intake")
    pre = client.options(
        f"/?key={KEY}", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}
    )
    assert (204, SITE) == (pre.status_code, pre.headers["Access-Control-Allow-Origin"])
    body = "email=jane%40example.com&name=Jane&utm_source=google&consent=on&budget=5000"
    res = client.post(f"/?key={KEY}", data=body, headers={"Origin": SITE, "Content-Type": FORM})
    assert (201, SITE) == (res.status_code, res.headers["Access-Control-Allow-Origin"])
    lead = db.document(f"companies/acme/leads/{lead_id_for('jane@example.com')}").get().to_dict()
    assert ("google", "5000") == (
        lead["first_touch"]["utm"]["source"],
        lead["custom_fields"]["budget"],
    )
    assert 1 == len(
        docs(db, f"companies/acme/leads/{lead_id_for('jane@example.com')}/interactions")
    )


def test_preflight_from_another_origin_is_refused(db: Any, function_client: Any) -> None:
    """A site the company does not list gets no CORS headers, and its posts a 403."""
    seed_company(db)
    client = function_client("lead_intake")
    pre = client.options(f"/?key={KEY}", headers={"Origin": "https://evil.example"})
    assert 403 == pre.status_code and "Access-Control-Allow-Origin" not in pre.headers
    res = client.post(
        "/", json={"form_key": KEY, "email": "a@b.co"}, headers={"Origin": "https://evil.example"}
    )
    assert 403 == res.status_code


def test_bad_input_gets_field_level_400(db: Any, function_client: Any) -> None:
    """Invalid e-mail and malformed JSON are 400s with messages, never 500s."""
    seed_company(db)
    client = function_client("lead_intake")
    res = client.post("/", json={"form_key": KEY, "email": "not-an-email"})
    assert 400 == res.status_code
    assert "email" in res.get_json()["error"]["details"]["fields"]
    res = client.post("/", data=b"{broken", headers={"Content-Type": "application/json"})
    assert (400, "invalid-argument") == (res.status_code, res.get_json()["error"]["code"])
    res = client.post("/", data=b"x" * 70_000, headers={"Content-Type": "application/json"})
    assert 413 == res.status_code


def test_refusals_are_readable_by_the_companys_pages(
    db: Any, function_client: Any, caplog: Any
) -> None:
    """A 400 to a post from an allowed origin carries its CORS headers, so the page's script
    can show the field messages (a browser hides a response without them); other origins
    and unknown keys get none, and an unknown key is a line in the log, not a traceback."""
    caplog.set_level(logging.INFO, logger="growthkit.http")
    seed_company(db)
    client = function_client("lead_intake")
    bad = {"email": "jane@localhost"}
    res = client.post(f"/?key={KEY}", json=bad, headers={"Origin": SITE})
    assert (400, SITE) == (res.status_code, res.headers.get("Access-Control-Allow-Origin"))
    fields = res.get_json()["error"]["details"]["fields"]
    assert {"email": NOT_AN_ADDRESS} == fields  # no "Value error, "
    for origin, key in (("https://evil.example", KEY), (SITE, "acme.wrong-key-456")):
        res = client.post(f"/?key={key}", json=bad, headers={"Origin": origin})
        assert 400 == res.status_code
        assert "Access-Control-Allow-Origin" not in res.headers
    unknown = [r for r in caplog.records if "no CORS headers" in r.getMessage()]
    assert ["Unknown form key."] == [r.getMessage().rsplit(": ", 1)[1] for r in unknown]
    assert [None] == [r.exc_info for r in unknown]


def test_plain_html_form_redirects_to_thank_you(db: Any, function_client: Any) -> None:
    """A non-JS form gets a 303 to the company's thank-you page."""
    seed_company(db, settings={"min_submit_seconds": 0, "thank_you_url": f"{SITE}/thanks"})
    res = function_client("lead_intake").post(
        "/", data=f"form_key={KEY}&email=bob%40example.com", headers={"Content-Type": FORM}
    )
    assert (303, f"{SITE}/thanks") == (res.status_code, res.headers["Location"])


def test_honeypot_spam_is_stored_apart(db: Any, function_client: Any) -> None:
    """A filled honeypot creates no lead but is kept for review."""
    seed_company(db)
    res = function_client("lead_intake").post(
        "/", json={"form_key": KEY, "email": "bot@example.com", "website": "x"}
    )
    assert 200 == res.status_code
    assert {} == docs(db, "companies/acme/leads")
    assert ["honeypot"] == [
        d["reason"] for d in docs(db, "companies/acme/spam_submissions").values()
    ]


def test_concurrent_duplicates_make_one_lead(db: Any, function_client: Any) -> None:
    """Ten simultaneous posts for one e-mail end as one lead with ten submissions."""
    seed_company(db)
    statuses: list[int] = []
    # Apps built here, not in the threads: CPython 3.11's ast.parse (werkzeug compiles
    # routes with it) is not thread-safe.
    clients = [function_client("lead_intake") for _ in range(10)]

    def post(i: int) -> None:
        res = clients[i].post(
            "/",
            data=json.dumps(
                {"form_key": KEY, "email": "Same@Example.com", "custom_fields": {"n": str(i)}}
            ),
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"10.0.0.{i}"},
        )
        statuses.append(res.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert [201] + [200] * 9 == sorted(statuses, reverse=True)[:1] + sorted(statuses)[:9]
    leads = docs(db, "companies/acme/leads")
    assert 1 == len(leads)
    assert 10 == next(iter(leads.values()))["submission_count"]


def test_new_lead_takes_two_round_trips(
    db: Any, function_client: Any, firestore_server: Any, project_id: str
) -> None:
    """One batched read and one commit: no query to deduplicate."""
    seed_company(db)
    client = function_client("lead_intake")
    database = f"projects/{project_id}/databases/(default)"
    before = firestore_server.counters.for_database(database)
    client.post("/", json={"form_key": KEY, "email": "new@example.com"})
    after = firestore_server.counters.for_database(database)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {"BatchGetDocuments": 1, "Commit": 1} == {k: v for k, v in delta.items() if v}


def lead_doc(db: Any, email: str = "jane@example.com") -> dict[str, Any]:
    data: dict[str, Any] = db.document(f"companies/acme/leads/{lead_id_for(email)}").get().to_dict()
    return data


def submissions(db: Any, email: str = "jane@example.com") -> list[dict[str, Any]]:
    """The lead's form interactions, oldest first."""
    found = docs(db, f"companies/acme/leads/{lead_id_for(email)}/interactions").values()
    return sorted(found, key=lambda i: i["created_at"])


def test_an_anonymous_post_fills_blanks_and_never_overwrites_a_lead(
    db: Any, function_client: Any
) -> None:
    """Anyone can post anyone's address: a second post does not change the lead's name,
    phone, custom fields or consent evidence. It fills what is blank (a field the lead
    lacks), and what it sent is kept on its own interaction."""
    seed_company(db)
    client = function_client("lead_intake")
    first = {"form_key": KEY, "email": "jane@example.com", "name": "Jane", "phone": "555"}
    first |= {
        "consent": True,
        "consent_text": "Yes, e-mail me",
        "custom_fields": {"budget": "5000"},
    }
    assert 201 == client.post("/", json=first).status_code
    evidence = lead_doc(db)["consent"]
    second = {"form_key": KEY, "email": "Jane@Example.com", "name": "Mallory", "phone": "666"}
    second |= {"consent": True, "consent_text": "Other text", "consent_text_version": "v9"}
    second |= {"custom_fields": {"budget": "0", "color": "red"}}
    assert 200 == client.post("/", json=second, headers={"X-Forwarded-For": "6.6.6.6"}).status_code
    lead = lead_doc(db)
    assert ("Jane", "555", {"budget": "5000", "color": "red"}, evidence, 2) == (
        lead["name"],
        lead["phone"],
        lead["custom_fields"],
        lead["consent"],
        lead["submission_count"],
    )
    sent = submissions(db)[1]["metadata"]["submitted"]
    assert ("Mallory", "666", {"budget": "0", "color": "red"}) == (
        sent["name"],
        sent["phone"],
        sent["custom_fields"],
    )
    assert ("Other text", "v9", "6.6.6.6") == (
        sent["consent"]["text"],
        sent["consent"]["text_version"],
        sent["consent"]["ip"],
    )


def test_consent_evidence_only_adds(db: Any, function_client: Any) -> None:
    """A lead without consent gets it from a post that gives it; a later post without
    consent takes nothing away, not even the evidence of a box left unticked."""
    seed_company(db)
    client = function_client("lead_intake")
    lead_id = lead_id_for("jane@example.com")
    made_by_staff = {"id": lead_id, "company_id": "acme", "email": "jane@example.com"}
    made_by_staff |= {"email_normalized": "jane@example.com", "status": "new"}
    db.document(f"companies/acme/leads/{lead_id}").set(made_by_staff)
    post = {"form_key": KEY, "email": "jane@example.com"}
    assert 200 == client.post("/", json={**post, "name": "Jane"}).status_code
    lead = lead_doc(db)
    assert ("Jane", False) == (lead["name"], lead["consent"]["given"])
    given = {**post, "consent": True, "consent_text": "Yes", "form_id": "footer"}
    assert 200 == client.post("/", json=given).status_code
    evidence = lead_doc(db)["consent"]
    assert (True, "Yes", "footer") == (evidence["given"], evidence["text"], evidence["form_id"])
    assert 200 == client.post("/", json={**post, "consent": False}).status_code
    assert evidence == lead_doc(db)["consent"]
    assert [None, True, None] == [
        (i["metadata"]["submitted"].get("consent") or {}).get("given") for i in submissions(db)
    ]


def test_a_redirect_url_with_a_line_break_is_a_400_and_stores_nothing(
    db: Any, function_client: Any
) -> None:
    """A Location header cannot carry a line break: the post is refused before anything
    is stored (it was a 500 after the lead was written), for a redirect the company
    allows as for any other."""
    seed_company(db)
    client = function_client("lead_intake")
    for url in (f"{SITE}/thanks\r\nSet-Cookie: x=1", f"{SITE}/a\nb", f"{SITE}/a b", "\x00"):
        body = f"form_key={KEY}&email=bob%40example.com&redirect_url={quote(url)}"
        res = client.post("/", data=body, headers={"Content-Type": FORM})
        assert 400 == res.status_code, (url, res.status_code)
        assert "redirect_url" in res.get_json()["error"]["details"]["fields"]
    assert ({}, {}) == (docs(db, "companies/acme/leads"), docs(db, "companies/acme/rate_limits"))
    ok = f"form_key={KEY}&email=bob%40example.com&redirect_url={quote(SITE + '/thanks?a=1')}"
    res = client.post("/", data=ok, headers={"Content-Type": FORM})
    assert (303, f"{SITE}/thanks?a=1") == (res.status_code, res.headers["Location"])


# What a browser sends for a form it navigates with (no script): HTML first.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def no_script_post(**fields: str) -> str:
    """The example page's form as a browser without JavaScript posts it: every input,
    the ones the page's script would fill (``started_at``, ``redirect_url``) empty."""
    sent = {"form_key": KEY, "form_id": "quote-form", "started_at": "", "redirect_url": ""}
    sent |= {"name": "", "email": "", "phone": "", "message": "", "website": ""}
    return "&".join(f"{k}={quote(v)}" for k, v in (sent | fields).items())


def test_a_form_posted_without_javascript_becomes_a_lead(db: Any, function_client: Any) -> None:
    """Empty inputs are inputs not filled in: no fill time means no minimum-time check
    (the company's 3 s stays for posts that have one), the thank-you page follows, and
    the blanks store nothing."""
    seed_company(db, settings={"min_submit_seconds": 3, "thank_you_url": f"{SITE}/thanks"})
    body = no_script_post(name="No Script", email="noscript@example.com", message="Hi")
    res = function_client("lead_intake").post(
        f"/?key={KEY}",
        data=body,
        headers={"Content-Type": FORM, "Origin": SITE, "Accept": BROWSER_ACCEPT},
    )
    assert (303, f"{SITE}/thanks") == (res.status_code, res.headers.get("Location")), res.data
    lead = lead_doc(db, "noscript@example.com")
    assert ("No Script", None, {}) == (lead["name"], lead["phone"], lead["custom_fields"])
    assert {} == docs(db, "companies/acme/spam_submissions")


def test_a_form_without_javascript_still_meets_the_honeypot_and_the_limits(
    db: Any, function_client: Any
) -> None:
    """Only the minimum-time check is skipped without a fill time: a filled honeypot is
    kept apart as spam, and no-script posts count against the per-IP limit."""
    settings = {"min_submit_seconds": 3, "submissions_per_ip_per_hour": 2}
    seed_company(db, settings=settings | {"thank_you_url": f"{SITE}/thanks"})
    client = function_client("lead_intake")
    headers = {"Content-Type": FORM, "Accept": BROWSER_ACCEPT}
    bot = no_script_post(email="bot@example.com", website="http://spam.example")
    assert 303 == client.post("/", data=bot, headers=headers).status_code
    spam = docs(db, "companies/acme/spam_submissions").values()
    assert ["honeypot"] == [d["reason"] for d in spam]
    assert {} == docs(db, "companies/acme/leads")
    person = no_script_post(email="person@example.com")
    assert 303 == client.post("/", data=person, headers=headers).status_code
    assert 429 == client.post("/", data=person, headers=headers).status_code


def test_a_refused_form_post_from_a_browser_gets_a_page(db: Any, function_client: Any) -> None:
    """Without a script nothing would show a JSON refusal: a browser's form post gets an
    HTML page with the message and each field's, escaped, and the refusal's status; a
    script (asking for JSON, or not saying) still gets JSON."""
    seed_company(db)
    client = function_client("lead_intake")
    body = no_script_post(email="jane@localhost", name="<b>Jane</b>")
    headers = {"Content-Type": FORM, "Origin": SITE}
    res = client.post(f"/?key={KEY}", data=body, headers=headers | {"Accept": BROWSER_ACCEPT})
    page = res.get_data(as_text=True)
    assert (400, "text/html") == (res.status_code, res.mimetype), page
    assert "Some fields are invalid." in page and "{" not in page
    assert f"email: {NOT_AN_ADDRESS}" in page and "&lt;b&gt;" not in page
    assert SITE == res.headers.get("Access-Control-Allow-Origin")
    for accept in ("application/json", None):
        sent = headers | ({"Accept": accept} if accept else {})
        res = client.post(f"/?key={KEY}", data=body, headers=sent)
        assert (400, "application/json") == (res.status_code, res.mimetype)
    assert {} == docs(db, "companies/acme/leads")
