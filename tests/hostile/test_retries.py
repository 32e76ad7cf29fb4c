"""Clients retry when an answer is lost (a timeout, a dropped connection, a 503): a
retried form post or redemption must be stored once and answered as the first time."""

from __future__ import annotations

import threading
from typing import Any

from shared.domain.leads import lead_id_for
from tests.support import docs, seed_company

KEY = "acme.public-key-123"
LEAD = lead_id_for("retry@example.com")
POST = {"form_key": KEY, "email": "retry@example.com", "submission_id": "7c1f0e2a-retry-0001"}


def test_a_retried_submission_is_stored_once(db: Any, function_client: Any) -> None:
    """The same submission_id twice: 201 then 200 with the same lead, marked as a replay;
    one interaction."""
    seed_company(db)
    client = function_client("lead_intake")
    first, second = client.post("/", json=POST), client.post("/", json=POST)
    assert ([201, 200], [LEAD, LEAD], [None, "true"]) == (
        [first.status_code, second.status_code],
        [first.get_json()["lead_id"], second.get_json()["lead_id"]],
        [r.headers.get("Idempotent-Replayed") for r in (first, second)],
    )
    lead = db.document(f"companies/acme/leads/{LEAD}").get().to_dict()
    assert (1, 1) == (
        lead["submission_count"],
        len(docs(db, f"companies/acme/leads/{LEAD}/interactions")),
    )


def test_a_retry_is_not_counted_against_the_limit(db: Any, function_client: Any) -> None:
    """With one submission an hour allowed, its retry still gets its answer (200)."""
    seed_company(db, settings={"min_submit_seconds": 0, "submissions_per_ip_per_hour": 1})
    client = function_client("lead_intake")
    statuses = [client.post("/", json=POST).status_code for _ in range(3)]
    other = client.post("/", json={**POST, "submission_id": "another-submission"})
    assert ([201, 200, 200], 429) == (statuses, other.status_code)


def test_idempotency_key_header_works_like_the_field(db: Any, function_client: Any) -> None:
    """An Idempotency-Key header names the submission when the body does not."""
    seed_company(db)
    client = function_client("lead_intake")
    body = {"form_key": KEY, "email": "retry@example.com"}
    headers = {"Idempotency-Key": "header-key-0001"}
    statuses = [client.post("/", json=body, headers=headers).status_code for _ in range(2)]
    assert ([201, 200], 1) == (statuses, len(docs(db, f"companies/acme/leads/{LEAD}/interactions")))


def test_concurrent_retries_are_stored_once(db: Any, function_client: Any) -> None:
    """Ten copies of one submission at once (a client retrying while the first is still in
    flight): one interaction, one submission counted, one 201."""
    seed_company(db)
    statuses: list[int] = []
    # One app per thread, built here: building apps at once in threads trips CPython
    # 3.11's ast.parse (werkzeug compiles its routes), which is not thread-safe.
    clients = [function_client("lead_intake") for _ in range(10)]

    def post(client: Any) -> None:
        statuses.append(client.post("/", json=POST).status_code)

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lead = db.document(f"companies/acme/leads/{LEAD}").get().to_dict()
    interactions = docs(db, f"companies/acme/leads/{LEAD}/interactions")
    assert ([200] * 9 + [201], 1, 1) == (
        sorted(statuses),
        lead["submission_count"],
        len(interactions),
    )


def test_a_retried_spam_submission_is_kept_once(db: Any, function_client: Any) -> None:
    """Spam with a submission id, posted twice: one spam record."""
    seed_company(db)
    client = function_client("lead_intake")
    spam = {**POST, "website": "http://bot.example"}
    statuses = [client.post("/", json=spam).status_code for _ in range(2)]
    assert ([200, 200], 1) == (statuses, len(docs(db, "companies/acme/spam_submissions")))


def test_a_retried_redemption_is_answered_as_the_first(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """The same person redeeming the same code again: 200 with the same lead, one use; a
    second code for that person is still refused as already referred."""
    seed_company(db)
    function_client("lead_intake").post("/", json={"form_key": KEY, "email": "jane@example.com"})
    codes = function_client("referral_codes")
    make = {"referrer_email": "jane@example.com", "max_uses": 5}
    code, other = (
        codes.post("/", json=make, headers=staff_auth("acme")).get_json()["referral"]["code"]
        for _ in range(2)
    )
    redeem = function_client("redeem_referral")
    body = {"form_key": KEY, "email": "friend@example.com", "code": code}
    first, again = redeem.post("/", json=body), redeem.post("/", json=body)
    refused = redeem.post("/", json={**body, "code": other})
    stored = db.document(f"companies/acme/referrals/{code}").get().to_dict()
    assert ([201, 200, 409], first.get_json()["lead_id"], "true", 1) == (
        [first.status_code, again.status_code, refused.status_code],
        again.get_json()["lead_id"],
        again.headers.get("Idempotent-Replayed"),
        stored["times_used"],
    )
