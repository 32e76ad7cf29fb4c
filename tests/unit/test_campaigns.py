"""Campaigns on the in-memory fakes: statuses, throttled batches, pause and resume,
crashes, quiet hours, previews and exclusions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.campaigns.domain.campaigns import Campaign
from shared.campaigns.domain.compliance import suppression_path
from shared.campaigns.domain.keys import recipient_path, recipients_collection, send_key
from shared.campaigns.services import campaigns as service
from shared.campaigns.services.audience import materialize
from shared.campaigns.services.conversions import on_lead_campaigns
from shared.domain.tasks import ScheduledTask
from shared.errors import Contention, Refused
from shared.events import DocumentEvent
from shared.ports import Write
from tests.fakes import FakeStore
from tests.outreach_support import COMPANY, MANAGER, CountingMessenger, Env, new_env, save_campaign

CAMPAIGN = f"companies/{COMPANY}/campaigns/c1"


def start(env: Env, campaign_id: str = "c1") -> None:
    service.change_status(env.store, env.queue, env.clock.now(), MANAGER, campaign_id, "start")


def recipients(env: Env) -> dict[str, dict[str, object]]:
    return env.docs(recipients_collection(COMPANY, "c1"))


def test_sending_is_throttled_in_chained_batches_and_completes() -> None:
    """Rate 2 per minute, 5 leads: batches of 2, 2 and 1 a window apart; each lead gets
    one e-mail; the campaign completes with its counters."""
    env = new_env(leads=5)
    save_campaign(env)
    start(env)
    results = env.run_all()
    assert [2, 2, 1] == [r.get("sent") for r in results]
    tasks = env.docs(f"companies/{COMPANY}/scheduled_tasks").values()
    batches = sorted(ScheduledTask.model_validate(t).scheduled_for for t in tasks)
    assert [timedelta(0), timedelta(minutes=1), timedelta(minutes=2)] == [
        b - batches[0] for b in batches
    ]
    campaign = env.doc(CAMPAIGN)
    assert ("completed", 5, 5) == (
        campaign["status"],
        campaign["stats"]["sent"],
        len(env.messenger.unique),
    )
    assert {"contacted"} == {r["status"] for r in recipients(env).values()}


def test_pause_stops_the_chain_and_resume_sends_the_rest_once() -> None:
    """Paused after the first batch, the next batch does nothing; resumed, the rest go
    out, and nobody gets a second message."""
    env = new_env(leads=5)
    save_campaign(env)
    start(env)
    (first,) = env.pending()
    env.run(first)
    service.change_status(env.store, env.queue, env.clock.now(), MANAGER, "c1", "pause")
    stopped = env.run_all()
    assert ([{"stopped": "campaign paused"}], 2) == (stopped, len(env.messenger.calls))
    service.change_status(env.store, env.queue, env.clock.now(), MANAGER, "c1", "resume")
    env.run_all()
    assert (5, 5, "completed") == (
        len(env.messenger.calls),
        len(env.messenger.unique),
        env.doc(CAMPAIGN)["status"],
    )


def test_a_batch_crashing_after_a_send_resumes_without_sending_twice() -> None:
    """The third message goes out and then the batch dies before recording it: the retry
    sends it again under its key (the outbox or SMTP folds it) and nobody else twice."""
    env = new_env(leads=5)
    env.messenger = CountingMessenger(crash_after=2)
    save_campaign(env)
    start(env)
    env.run_all()
    keys = [m.idempotency_key for m in env.messenger.calls]
    assert (6, 5) == (len(keys), len(set(keys)))
    assert keys[2] == keys[3]  # the crashed send, sent again under the same key
    assert 5 == env.doc(CAMPAIGN)["stats"]["sent"]


def test_a_night_time_sms_waits_for_eight_on_the_leads_clock() -> None:
    """At 23:00 in Tokyo the lead's SMS is deferred; a wake-up task at 08:00 Tokyo time
    queues it again and it goes out then; the campaign completes after it."""
    env = new_env(leads=2)
    env.clock.current = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # 15:00 Paris, 23:00 Tokyo
    lead = f"companies/{COMPANY}/leads/l1"
    env.store.commit([Write(lead, {"timezone": "Asia/Tokyo"}, "merge")])
    save_campaign(env, channel="sms", template={"body": "Hi {{ lead.first_name }}"})
    start(env)
    (batch,) = env.pending()
    env.run(batch)
    wake = next(t for t in env.pending() if t.type == "campaign_wake")
    deferred = env.doc(recipient_path(COMPANY, "c1", "l1"))
    eight_tokyo = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert ("campaign_wake", eight_tokyo, "deferred") == (
        wake.type,
        wake.scheduled_for,
        deferred["send_state"],
    )
    assert ["+33600000000"] == [m.to for m in env.messenger.calls]
    env.run_all()
    assert ["+33600000000", "+33600000001"] == [m.to for m in env.messenger.calls]
    assert ("contacted", "completed") == (
        env.doc(recipient_path(COMPANY, "c1", "l1"))["status"],
        env.doc(CAMPAIGN)["status"],
    )


def test_suppressed_and_opted_out_leads_are_excluded_with_the_reason() -> None:
    """A suppressed address and a do-not-contact lead get nothing, and say why."""
    env = new_env(leads=3)
    env.store.commit(
        [
            Write(suppression_path(COMPANY, "email", "p1@example.com"), {"reason": "unsubscribed"}),
            Write(f"companies/{COMPANY}/leads/l2", {"do_not_contact": True}, "merge"),
        ]
    )
    save_campaign(env)
    start(env)
    env.run_all()
    found = {k: (r["status"], r["reason"]) for k, r in recipients(env).items()}
    assert {
        "l0": ("contacted", None),
        "l1": ("excluded", "blocked: suppressed (unsubscribed)"),
        "l2": ("excluded", "asked not to be contacted"),
    } == found
    assert ["p0@example.com"] == [m.to for m in env.messenger.calls]


def test_preview_shows_each_recipients_message_or_the_missing_field() -> None:
    """A template naming a field one lead lacks renders for the others and says which
    field is missing for that one; sending leaves that lead out instead of a blank."""
    env = new_env(leads=2)
    env.store.commit([Write(f"companies/{COMPANY}/leads/l1", {"city": "Lyon"}, "merge")])
    template = {"subject": "News for {{ lead.city }}", "body": "Hello {{ lead.first_name }}"}
    save_campaign(env, template=template)
    shown = service.preview(env.store, MANAGER, "c1", 10)
    assert [
        {"id": "l0", "kind": "lead", "error": "template: subject: lead.city is missing"},
        {
            "id": "l1",
            "kind": "lead",
            "to": "p1@example.com",
            "subject": "News for Lyon",
            "body": "Hello Pat1",
        },
    ] == shown["recipients"]
    start(env)
    env.run_all()
    assert (["News for Lyon"], "excluded") == (
        [m.subject for m in env.messenger.calls],
        env.doc(recipient_path(COMPANY, "c1", "l0"))["status"],
    )


def test_statuses_move_only_as_allowed() -> None:
    """A draft cannot pause; e-mail needs the postal address to start; a started
    campaign cannot start again."""
    env = new_env(leads=1, postal_address=None)
    save_campaign(env)
    with pytest.raises(Refused):
        service.change_status(env.store, env.queue, env.clock.now(), MANAGER, "c1", "pause")
    with pytest.raises(Refused) as refused:
        start(env)
    assert "no_postal_address" == refused.value.details["reason"]
    env.store.commit(
        [Write(f"companies/{COMPANY}", {"settings": {"postal_address": "x"}}, "merge")]
    )
    start(env)
    with pytest.raises(Refused):
        start(env)


def test_a_scheduled_campaign_starts_at_its_time() -> None:
    """Scheduling makes a start task at starts_at; it starts the campaign then."""
    env = new_env(leads=1)
    starts = env.clock.now() + timedelta(hours=3)
    save_campaign(env, starts_at=starts)
    service.change_status(env.store, env.queue, env.clock.now(), MANAGER, "c1", "schedule")
    (task,) = env.pending()
    env.run_all()
    assert ("campaign_start", starts, "completed", 1) == (
        task.type,
        task.scheduled_for,
        env.doc(CAMPAIGN)["status"],
        len(env.messenger.calls),
    )


def test_the_message_key_names_campaign_recipient_and_channel() -> None:
    """Idempotency key = campaign + recipient + channel."""
    env = new_env(leads=1)
    save_campaign(env)
    start(env)
    env.run_all()
    assert [send_key(COMPANY, "c1", "l0", "email")] == list(env.messenger.unique)


def test_a_lead_converting_after_a_campaign_counts_as_its_conversion_once() -> None:
    """The lead converts: its recipient in the campaign is converted and the campaign
    counts one conversion, however often the event is delivered; the others stay."""
    env = new_env(leads=2)
    save_campaign(env)
    start(env)
    env.run_all()
    event = DocumentEvent(
        "e1",
        "written",
        f"companies/{COMPANY}/leads/l0",
        {"status": "contacted"},
        {"status": "converted"},
        params={"companyId": COMPANY, "leadId": "l0"},
    )
    outcomes = [on_lead_campaigns(env.store, env.queue, env.clock.now(), event, "f") for _ in "12"]
    assert ["converted in 1 campaigns", "converted in 0 campaigns"] == outcomes
    assert ("converted", "contacted", 1) == (
        env.doc(recipient_path(COMPANY, "c1", "l0"))["status"],
        env.doc(recipient_path(COMPANY, "c1", "l1"))["status"],
        env.doc(CAMPAIGN)["stats"]["converted"],
    )


class CountingStore(FakeStore):
    """A FakeStore that counts what Firestore bills as reads: each document asked for,
    and each query's results (at least one)."""

    reads = 0

    def get_all(self, paths: Any) -> Any:
        self.reads += len(paths)
        return super().get_all(paths)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        found = super().query(*args, **kwargs)
        self.reads += max(1, len(found))
        return found


def test_a_new_audience_is_written_without_reading_its_recipients_first() -> None:
    """The recipients are created with a precondition: a campaign's first start reads
    its leads (5) and not whether each recipient exists (5 more); started again, the
    create fails, nothing is written or counted twice."""
    env = new_env(leads=5)
    save_campaign(env)
    store = CountingStore()
    store.docs = dict(env.store.docs)
    campaign = Campaign.model_validate(store.docs[CAMPAIGN][0])
    assert ({"selected": 5, "excluded": 0}, 5) == (
        materialize(store, campaign, env.clock.now()),
        store.reads,
    )
    assert {"selected": 0, "excluded": 0} == materialize(store, campaign, env.clock.now())
    stats = store.docs[CAMPAIGN][0]["stats"]
    assert (5, 5) == (stats["selected"], len(store.query(recipients_collection(COMPANY, "c1"))))


class CounterReads(FakeStore):
    """Counts the frequency counters read one by one (``get_all``) and by query."""

    one_by_one = 0
    queries = 0

    def get_all(self, paths: Any) -> Any:
        self.one_by_one += sum("/frequency_counters/" in p for p in paths)
        return super().get_all(paths)

    def query(self, collection: str, *args: Any, **kwargs: Any) -> Any:
        self.queries += collection.endswith("/frequency_counters")
        return super().query(collection, *args, **kwargs)


def counter_env(leads: int, **settings: Any) -> tuple[Env, CounterReads]:
    env = new_env(leads=leads, send_rate_email=100, **settings)
    save_campaign(env)
    store = CounterReads()
    store.docs = dict(env.store.docs)
    env.store = store
    return env, store


def test_a_batch_reads_its_recipients_counters_with_one_query() -> None:
    """35 recipients in one batch: their frequency counters are read ahead by two
    queries (30 addresses, then 5), none one by one; each is counted once."""
    env, store = counter_env(35)
    start(env)
    env.run_all()
    assert (35, 0, 2) == (len(env.messenger.unique), store.one_by_one, store.queries)
    counters = env.docs(f"companies/{COMPANY}/frequency_counters").values()
    assert [1] * 35 == [c["count"] for c in counters]


def test_a_counter_written_after_the_read_ahead_still_caps() -> None:
    """Two leads share an address (cap 1) in one batch: both were read ahead with no
    counter; the first sends and counts, the second's reservation fails on the counter
    it did not expect, reads it again and is blocked by the cap."""
    env, _ = counter_env(2, frequency_cap=1)
    env.seed(
        f"companies/{COMPANY}/leads/l1", {**env.doc(f"companies/{COMPANY}/leads/l0"), "id": "l1"}
    )
    start(env)
    env.run_all()
    outcomes = sorted(str(r.get("reason") or r["status"]) for r in recipients(env).values())
    assert ["blocked: frequency cap (1 per 7 days)", "contacted"] == outcomes
    assert 1 == len(env.messenger.calls)
    (counter,) = env.docs(f"companies/{COMPANY}/frequency_counters").values()
    assert 1 == counter["count"]


def test_without_the_counters_index_each_send_reads_its_own_counter() -> None:
    """Just deployed, the read-ahead's index still building (Firestore refuses the query,
    seen as Contention): the batch sends anyway, each send reading its own counter."""

    class Building(CounterReads):
        def query(self, collection: str, *args: Any, **kwargs: Any) -> Any:
            if collection.endswith("/frequency_counters"):
                raise Contention("The query requires an index that is still building.")
            return super().query(collection, *args, **kwargs)

    env, _ = counter_env(3)
    store = Building()
    store.docs = dict(env.store.docs)
    env.store = store
    start(env)
    env.run_all()
    assert (3, 3) == (len(env.messenger.unique), store.one_by_one)
