"""Campaigns on the local stack: started through the ``campaigns`` function, sent in
throttled batches chained through the local Cloud Tasks calling ``run_task`` on a real
HTTP server, e-mail delivered to a real SMTP server (aiosmtpd).

The functions' clock is the Tasks server's, so a night passes with ``advance`` and
nobody sleeps.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localcloud.tasks.testing import wait_until
from shared import bootstrap
from shared.adapters.messaging import build_messenger
from shared.domain.tasks import cloud_task_name
from shared.ports import Messenger, OutboundMessage
from tests.outreach_support import zone_at_hour
from tests.support import Mailbox, docs, seed_company

FAST = {"send_rate_email": 2, "send_rate_sms": 2, "send_window_seconds": 1}


class CrashingMessenger:
    """Hands the ``crash_at``-th message over, then dies (once) before anything records
    it, as a process killed between the send and its commit would."""

    def __init__(self, inner: Messenger, crash_at: int) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.calls = 0

    def send(self, message: OutboundMessage) -> str:
        provider_id = self.inner.send(message)
        self.calls += 1
        if self.calls == self.crash_at:
            raise RuntimeError("the batch died right after handing a message over")
        return provider_id

    def accepts(self, channel: Any) -> bool:
        return self.inner.accepts(channel)


def seed_leads(db: Any, count: int, **fields: Any) -> None:
    for i in range(count):
        lead = {"id": f"l{i}", "email": f"p{i}@example.com", "name": f"Pat{i}", "status": "new"}
        lead["consent"] = {"given": True}  # marketing reaches only people who consented
        db.document(f"companies/acme/leads/l{i}").set({**lead, **fields})


def start_campaign(function_client: Any, staff_auth: Any, **fields: Any) -> str:
    headers = staff_auth("acme", "manager")
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json={"name": "Spring", **fields}, headers=headers
    )
    campaign_id: str = created.get_json()["id"]
    start = {"action": "start", "campaign_id": campaign_id}
    assert 200 == function_client("campaigns").post("/", json=start, headers=headers).status_code
    return campaign_id


def campaign(db: Any, campaign_id: str) -> dict[str, Any]:
    data: dict[str, Any] = db.document(f"companies/acme/campaigns/{campaign_id}").get().to_dict()
    return data


def test_a_send_interrupted_halfway_resumes_without_duplicates(
    db: Any,
    mail_stack: Any,
    mailbox: tuple[Mailbox, int],
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five leads, two per batch: the batch dies right after the third message reached
    the SMTP server, before recording it. Cloud Tasks retries the batch, which sends the
    third under its key again (the SMTP messenger finds it sent) and goes on: the server
    received exactly one e-mail per lead, and the campaign completed."""
    seed_company(db, settings={"postal_address": "1 Main Street", **FAST})
    seed_leads(db, 5)
    crashing = CrashingMessenger(build_messenger(bootstrap.document_store()), crash_at=3)
    monkeypatch.setattr(bootstrap, "messenger", functools.cache(lambda: crashing))
    template = {"subject": "Hi {{ lead.name }}", "body": "Spring is here."}
    campaign_id = start_campaign(function_client, staff_auth, template=template)
    done = wait_until(
        lambda: (c := campaign(db, campaign_id))["status"] == "completed" and c, timeout=30
    )
    received = sorted(str(m["To"]) for m in mailbox[0].messages())
    assert [f"p{i}@example.com" for i in range(5)] == received
    assert (5, 5) == (done["stats"]["sent"], crashing.calls - 1)  # one send repeated
    recipients = docs(db, f"companies/acme/campaigns/{campaign_id}/recipients")
    assert {"contacted"} == {r["status"] for r in recipients.values()}


def test_an_sms_due_at_23_local_time_goes_out_at_08(
    db: Any,
    mail_stack: Any,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It is 23:00 where the lead lives: the batch defers the SMS and a Cloud Task is
    scheduled for 08:00 there; nothing is sent until the clock gets there, then it is
    (to the outbox: SMTP sends no SMS)."""
    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", "outbox")
    bootstrap.reset()
    seed_company(db, settings={"postal_address": "1 Main Street", **FAST})
    zone = zone_at_hour(23, bootstrap.clock.now())
    seed_leads(db, 1, phone="+15550102030", timezone=zone)
    campaign_id = start_campaign(
        function_client, staff_auth, channel="sms", template={"body": "Spring is here."}
    )
    path = f"companies/acme/campaigns/{campaign_id}/recipients/l0"
    deferred = wait_until(
        lambda: (r := db.document(path).get()).exists and r.get("send_state") == "deferred" and r,
        timeout=20,
    )
    until = deferred.get("deferred_until")
    local = until.astimezone(ZoneInfo(zone))
    (wake,) = [
        t
        for t in db.collection("companies/acme/scheduled_tasks").stream()
        if t.get("type") == "campaign_wake"
    ]
    cloud = _cloud_task(cloud_task_name("acme", wake.id))
    assert ((8, 0), until, until) == (
        (local.hour, local.minute),
        wake.get("scheduled_for"),
        cloud.schedule_time,
    )
    assert [] == list(db.collection("outbox").stream())
    mail_stack.advance((until - bootstrap.clock.now()).total_seconds() + 1)
    (sms,) = wait_until(lambda: [d.to_dict() for d in db.collection("outbox").stream()], timeout=20)
    assert ("sms", "+15550102030") == (sms["channel"], sms["to"])
    assert "contacted" == wait_until(
        lambda: db.document(path).get().get("status") == "contacted" and "contacted", timeout=20
    )


def _cloud_task(name: str) -> Any:
    from shared.adapters.clients import tasks_client
    from shared.adapters.cloud_tasks import task_id
    from shared.settings import get_settings

    return tasks_client().get_task(name=f"{get_settings().queue_path}/tasks/{task_id(name)}")


def test_an_audience_written_half_way_is_completed_once(
    db: Any, functions_env: None, firestore_server: Any, project_id: str
) -> None:
    """On the local Firestore: a first start creates the recipients without reading them
    first (the leads' query only); a start resumed after an earlier run wrote (and
    counted) some writes the others only, and counts each recipient once."""
    from shared.campaigns.domain.campaigns import Campaign
    from shared.campaigns.services.audience import materialize

    seed_company(db)
    seed_leads(db, 4)
    store, now = bootstrap.document_store(), datetime.now(UTC)
    fresh, resumed = (
        Campaign.model_validate({"id": c, "company_id": "acme", "name": c}) for c in ("c1", "c2")
    )
    database = f"projects/{project_id}/databases/(default)"
    before = firestore_server.counters.documents_for(database).get("read", 0)
    first = materialize(store, fresh, now)
    read = firestore_server.counters.documents_for(database)["read"] - before
    assert ({"selected": 4, "excluded": 0}, 4) == (first, read)
    earlier = {"id": "l2", "company_id": "acme", "campaign_id": "c2", "kind": "lead"}
    db.document("companies/acme/campaigns/c2/recipients/l2").set(earlier)
    db.document("companies/acme/campaigns/c2").set({"stats": {"selected": 1}})
    assert {"selected": 3, "excluded": 0} == materialize(store, resumed, now)
    recipients = docs(db, "companies/acme/campaigns/c2/recipients")
    assert (4, 4) == (len(recipients), campaign(db, "c2")["stats"]["selected"])
