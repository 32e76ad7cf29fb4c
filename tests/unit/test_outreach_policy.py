"""The outreach policy on the in-memory fakes: every marketing send goes through its
suppressions, caps, quiet hours and postal-address rule, exactly once per key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from msgspec.structs import replace

from shared.campaigns.domain.compliance import cap_counter_path, suppression_path
from shared.campaigns.services.policy import Outreach, send_id_for, send_marketing, send_path
from shared.domain.company import Company
from shared.errors import InvalidInput, Refused
from shared.ports import OutboundMessage, Snapshot, Write
from tests.fakes import FakeStore
from tests.outreach_support import LINKS, SETTINGS, CountingMessenger

NOON = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 12:00 in Paris
# Marketing reaches people with consent on record (shared.domain.consent).
CONSENTED = {"consent": {"given": True}}
EMAIL = Outreach(
    "email", "jane@example.com", "Hi", "Hello Jane", "campaign:acme:c1:l1:email", CONSENTED
)


def company(**settings: Any) -> Company:
    return Company(id="acme", name="Acme", settings={**SETTINGS, **settings})  # type: ignore[arg-type]


def send(store: FakeStore, messenger: Any, outreach: Outreach = EMAIL, **settings: Any) -> Any:
    result = send_marketing(store, messenger, LINKS, NOON, company(**settings), outreach)
    store.commit(list(result.writes))  # as the caller does, with its own ledger
    return result


def counted(store: FakeStore, outreach: Outreach = EMAIL) -> int:
    path = cap_counter_path("acme", outreach.channel, outreach.to, NOON, 7)
    return int(store.docs[path][0]["count"]) if path in store.docs else 0


def same_send(first: OutboundMessage, again: OutboundMessage) -> bool:
    """The same message, sent first on a reservation made just then (``fresh``: the
    messenger need not look for an earlier send), again on the one found."""
    return (True, False) == (first.fresh, again.fresh) and first == replace(again, fresh=True)


def test_an_email_goes_out_with_its_compliance_content_and_is_recorded() -> None:
    """Footer, one-click headers and HTML part; the send record ends ``sent``."""
    store, messenger = FakeStore(), CountingMessenger()
    result = send(store, messenger)
    (message,) = messenger.calls
    record = store.docs[send_path("acme", send_id_for(EMAIL.key))][0]
    assert ("sent", "sent", 1) == (result.outcome, record["status"], counted(store))
    assert "List-Unsubscribe-Post" in dict(message.headers)
    assert message.body.startswith("Hello Jane\n\n--\nAcme\n1 Main Street") and message.html


def test_marketing_email_without_a_postal_address_is_refused() -> None:
    """No address to put in the footer: nothing is sent."""
    messenger = CountingMessenger()
    with pytest.raises(Refused):
        send(FakeStore(), messenger, postal_address=None)
    assert [] == messenger.calls


def test_a_suppressed_address_gets_nothing() -> None:
    """Whatever wrote the suppression, the channel's address is blocked (case aside)."""
    store, messenger = FakeStore(), CountingMessenger()
    path = suppression_path("acme", "email", "JANE@example.com")
    store.commit([Write(path, {"reason": "unsubscribed"})])
    result = send(store, messenger)
    assert ("blocked", "suppressed (unsubscribed)", [], 0) == (
        result.outcome,
        result.reason,
        messenger.calls,
        counted(store),
    )


def test_the_frequency_cap_counts_every_campaign_and_workflow() -> None:
    """Two sends allowed per window: the third, under any other key, is blocked."""
    store, messenger = FakeStore(), CountingMessenger()
    keys = ["campaign:acme:c1:l1:email", "workflow:acme:e1:welcome:1", "campaign:acme:c2:l1:email"]
    outcomes = [
        send(
            store,
            messenger,
            Outreach("email", "jane@example.com", "s", "b", key, CONSENTED),
            frequency_cap=2,
        )
        for key in keys
    ]
    assert ["sent", "sent", "blocked"] == [r.outcome for r in outcomes]
    assert (2, 2) == (len(messenger.calls), counted(store))


def test_an_sms_due_at_night_is_deferred_to_eight_local_time() -> None:
    """23:00 in Tokyo: nothing sent or counted; the caller is told to come back at 08:00."""
    store, messenger = FakeStore(), CountingMessenger()
    sms = Outreach(
        "sms", "+81300000000", "", "Hi", "k-sms", {"timezone": "Asia/Tokyo", **CONSENTED}
    )
    night = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    result = send_marketing(store, messenger, LINKS, night, company(), sms)
    assert ("deferred", datetime(2026, 3, 10, 23, 0, tzinfo=UTC)) == (result.outcome, result.until)
    assert ([], 0) == (messenger.calls, counted(store, sms))


def test_a_retry_after_a_lost_commit_sends_under_the_same_key_and_counts_once() -> None:
    """The send went out but its caller's commit was lost: the retry finds the
    reservation, sends again under the same key (folded by the messaging layer) without
    deciding again or counting twice."""
    store, messenger = FakeStore(), CountingMessenger()
    first = send_marketing(store, messenger, LINKS, NOON, company(frequency_cap=1), EMAIL)
    again = send(store, messenger, frequency_cap=1)  # at the cap, yet it is the same send
    assert ("sent", "sent") == (first.outcome, again.outcome)
    assert (1, 2, 1) == (len(messenger.unique), len(messenger.calls), counted(store))
    assert same_send(*messenger.calls)


def test_a_refused_message_is_failed_and_gives_its_place_back() -> None:
    """A permanent refusal (an unknown mailbox): failed, and the cap counter goes back."""

    class Refusing:
        def send(self, message: OutboundMessage) -> str:
            raise InvalidInput("550 no such user")

    store = FakeStore()
    result = send(store, Refusing())
    record = store.docs[send_path("acme", result.send_id)][0]
    assert ("failed", "550 no such user", "failed", 0) == (
        result.outcome,
        result.reason,
        record["status"],
        counted(store),
    )


def test_no_consent_no_marketing_nothing_counted() -> None:
    """The policy asks the consent rule first: blocked, nothing sent, reserved or counted."""
    store, messenger = FakeStore(), CountingMessenger()
    result = send(store, messenger, Outreach("email", "jane@example.com", "s", "b", "k-none"))
    assert ("blocked", "no marketing consent on record") == (result.outcome, result.reason)
    assert ([], 0, False) == (
        messenger.calls,
        counted(store),
        send_path("acme", send_id_for("k-none")) in store.docs,
    )


class CountingStore(FakeStore):
    """A FakeStore that counts what Firestore bills as reads: each document asked for."""

    reads = 0

    def get_all(self, paths: Any) -> Any:
        self.reads += len(paths)
        return super().get_all(paths)


def test_a_new_send_reads_only_its_suppression_and_its_counter() -> None:
    """The send record is created with a precondition instead of read first: a new
    send reads two documents (a campaign to 1,000 makes 1,000 of them)."""
    store, messenger = CountingStore(), CountingMessenger()
    assert ("sent", 2) == (send(store, messenger).outcome, store.reads)


def test_a_reserved_send_under_the_cap_is_found_by_its_precondition() -> None:
    """The caller's commit was lost and the address is under its cap: creating the
    record again fails, and the retry resumes the reservation (counted once, same key)."""
    store, messenger = FakeStore(), CountingMessenger()
    first = send_marketing(store, messenger, LINKS, NOON, company(frequency_cap=3), EMAIL)
    again = send(store, messenger, frequency_cap=3)
    record = store.docs[send_path("acme", first.send_id)][0]
    assert ("sent", "sent", "sent") == (first.outcome, again.outcome, record["status"])
    assert (1, 2, 1) == (len(messenger.unique), len(messenger.calls), counted(store))
    assert same_send(*messenger.calls)


def test_a_finished_send_at_the_cap_is_reported_not_blocked() -> None:
    """A send already recorded as sent, its address now at the cap (this send filled
    it): asked again, it is the same send, reported sent and not sent again."""
    store, messenger = FakeStore(), CountingMessenger()
    send(store, messenger, frequency_cap=1)
    again = send(store, messenger, frequency_cap=1)
    assert ("sent", 1, 1) == (again.outcome, len(messenger.calls), counted(store))


def test_a_cap_reached_on_a_count_read_ahead_is_decided_again() -> None:
    """The batch read the counter ahead at the cap; a failed send gave its place back
    since: the policy reads it again before refusing, and sends."""
    store, messenger = FakeStore(), CountingMessenger()
    path = cap_counter_path("acme", "email", EMAIL.to, NOON, 7)
    store.commit([Write(path, {"count": 0})])
    ahead = {path: Snapshot(path, {"count": 3}, store.docs[path][1])}
    result = send_marketing(store, messenger, LINKS, NOON, company(frequency_cap=3), EMAIL, ahead)
    assert ("sent", 1, 1) == (result.outcome, len(messenger.calls), counted(store))
