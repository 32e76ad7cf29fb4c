"""Firestore commits failing at random (ABORTED, UNAVAILABLE, before anything applies):
the functions answer 503 for what the client library does not retry itself, never a 500,
and a client retrying with the same submission id ends with everything stored once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc

from localcloud.firestore.faults import Faults
from tests.hostile.invariants import all_documents, problems
from tests.support import seed_company

KEY = "acme.public-key-123"


@pytest.fixture
def faults(firestore_server: Any) -> Iterator[Faults]:
    """Commit faults on the session's Firestore for this test only (rate set by the test)."""
    injected = Faults(0.0, seed=7)
    firestore_server.faults = injected
    yield injected
    firestore_server.faults = Faults()


def test_faults_are_read_from_the_environment() -> None:
    """``LOCALCLOUD_FIRESTORE_FAULTS`` gives the rate and, optionally, the codes."""
    assert (0.0, 0.25, (grpc.StatusCode.ABORTED,)) == (
        Faults.from_env("").rate,
        Faults.from_env("0.25").rate,
        Faults.from_env("0.25:ABORTED").codes,
    )


def test_an_aborted_commit_applies_nothing(db: Any, faults: Faults) -> None:
    """The client sees ABORTED and the document is not there."""
    faults.rate, faults.codes = 1.0, (grpc.StatusCode.ABORTED,)
    with pytest.raises(gexc.Aborted):
        db.document("things/one").set({"n": 1})
    faults.rate = 0.0
    assert (False, {"ABORTED": 1}) == (
        db.document("things/one").get().exists,
        dict(faults.injected),
    )


def post_until_accepted(client: Any, body: dict[str, Any], statuses: Counter[int]) -> int:
    """Post, retrying 503s as a browser script would; the final status."""
    for _ in range(30):
        status = int(client.post("/", json=body).status_code)
        statuses[status] += 1
        if status != 503:
            return status
    return 503


def test_intake_under_commit_faults_stores_every_submission_once(
    db: Any, function_client: Any, faults: Faults
) -> None:
    """40 submissions (10 people, 4 posts each) with 30% of commits failing: only 2xx
    and 503 answers, and after retries 40 interactions, counters at 40, nothing doubled."""
    seed_company(db, settings={"min_submit_seconds": 0, "submissions_per_ip_per_hour": 100})
    client = function_client("lead_intake")
    faults.rate = 0.3
    statuses: Counter[int] = Counter()
    final = [
        post_until_accepted(
            client,
            {"form_key": KEY, "email": f"p{i % 10}@example.com", "submission_id": f"sub-{i:04d}"},
            statuses,
        )
        for i in range(40)
    ]
    faults.rate = 0.0
    docs = all_documents(db)
    interactions = [p for p in docs if "/interactions/" in p]
    counters = sum(d["count"] for p, d in docs.items() if "/rate_limits/ip-" in p)
    assert ({201: 10, 200: 30}, set(), 40, 40) == (
        dict(Counter(final)),
        set(statuses) - {200, 201, 503},
        len(interactions),
        counters,
    )
    assert [] == problems(docs, {"acme"})
    print("intake under faults:", dict(statuses), dict(faults.injected))
    assert 0 < statuses[503]


def test_redemptions_under_commit_faults_never_5xx_but_503(
    db: Any, function_client: Any, staff_auth: Any, faults: Faults
) -> None:
    """Redemptions in transactions: aborted commits are retried by the client library,
    what is left is a 503; after retries each friend is redeemed once."""
    seed_company(db)
    function_client("lead_intake").post("/", json={"form_key": KEY, "email": "jane@example.com"})
    made = function_client("referral_codes").post(
        "/", json={"referrer_email": "jane@example.com", "max_uses": 50}, headers=staff_auth("acme")
    )
    code = made.get_json()["referral"]["code"]
    client = function_client("redeem_referral")
    faults.rate = 0.3
    statuses: Counter[int] = Counter()
    final = [
        post_until_accepted(
            client, {"form_key": KEY, "email": f"friend{i}@example.com", "code": code}, statuses
        )
        for i in range(15)
    ]
    faults.rate = 0.0
    print("redemptions under faults:", dict(statuses), dict(faults.injected))
    assert ({201: 15}, set()) == (dict(Counter(final)), set(statuses) - {200, 201, 503})
    assert [] == problems(all_documents(db), {"acme"})


def test_an_aborted_outbox_write_is_not_taken_for_a_sent_message(
    db: Any, functions_env: None, faults: Faults
) -> None:
    """ABORTED is a kind of Conflict to the client library; it must not read as "already in
    the outbox" (the message would be lost): the send fails transiently, a retry sends it."""
    from shared import bootstrap
    from shared.adapters.messaging import OutboxMessenger
    from shared.errors import Transient
    from shared.ports import OutboundMessage

    messenger = OutboxMessenger(bootstrap.document_store())
    message = OutboundMessage("email", "jane@example.com", "Hi", "Hello", "fault-test-1")
    faults.rate, faults.codes = 1.0, (grpc.StatusCode.ABORTED,)
    with pytest.raises(Transient):
        messenger.send(message)
    faults.rate = 0.0
    messenger.send(message)
    assert 1 == len(list(db.collection("outbox").stream()))


def test_an_expired_transaction_is_transient(
    db: Any, functions_env: None, firestore_server: Any, project_id: str
) -> None:
    """A transaction that expired before its commit (here ended on the server, as the idle
    timeout ends one stuck behind a dead instance's locks) is a 503, not a 500."""
    from shared import bootstrap
    from shared.errors import Transient
    from shared.ports import Transaction, Write

    database = f"projects/{project_id}/databases/(default)"

    def expire_then_write(tx: Transaction) -> None:
        tx.get("things/one")
        firestore_server.store.rollback(database, tx.transaction._id)  # type: ignore[attr-defined]
        tx.write(Write("things/one", {"n": 1}))

    with pytest.raises(Transient):
        bootstrap.document_store().run_transaction(expire_then_write)
    assert not db.document("things/one").get().exists
