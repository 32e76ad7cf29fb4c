"""Periodic work company by company (shared.services.periodic), on in-memory fakes: the
jobs whose failing company no localcloud test can poison (a commit that fails, a
connection whose stored token is of the wrong type), and the retry task's checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput, Transient
from shared.events import ScheduledEvent
from shared.ports import Write
from shared.services.periodic import periodic_retry_task
from shared.services.referral_codes import expire_due_referrals
from shared.services.task_handlers import TaskContext
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue

NOW = FakeClock().now()


class BetaCannotCommit(FakeStore):
    """A store on which every commit touching company beta fails."""

    def commit(self, writes: list[Write]) -> Any:
        if any(w.path.startswith("companies/beta/referrals/") for w in writes):
            raise Transient("beta's partition is down")
        return super().commit(writes)


def retry_tasks(store: FakeStore, company_id: str) -> list[dict[str, Any]]:
    prefix = f"companies/{company_id}/scheduled_tasks/"
    return [d for p, (d, _) in store.docs.items() if p.startswith(prefix)]


def test_expiry_goes_on_for_the_others_and_retries_the_failing_company_once() -> None:
    """Beta's codes cannot be written: acme's still expire across pages, beta gets one
    retry task however often the run is repeated, and it is not retried page after page."""
    store, queue = BetaCannotCommit(), FakeTaskQueue()
    past = NOW - timedelta(minutes=1)
    for company_id, count in (("acme", 3), ("beta", 3)):
        for i in range(count):
            data = {"status": "active", "expires_at": past + timedelta(seconds=i)}
            store.docs[f"companies/{company_id}/referrals/C{i}"] = (data, NOW)
    event = ScheduledEvent("growthkit-expire-referrals", NOW)
    assert 3 == expire_due_referrals(store, queue, FakeClock(), event, page_size=2)
    assert 0 == expire_due_referrals(store, queue, FakeClock(), event, page_size=2)
    (task,) = retry_tasks(store, "beta")
    assert ("periodic_retry", "expire_referrals", 1) == (
        task["type"],
        task["data"]["job"],
        len(queue.tasks),
    )
    assert [] == retry_tasks(store, "acme")


def test_a_retry_task_names_a_known_job_and_its_run() -> None:
    """An unknown job or a missing schedule time fails the task, with what it needs."""
    ctx = TaskContext(FakeStore(), FakeTaskQueue(), FakeMessenger(), NOW)
    for data in ({"job": "mine_bitcoin", "schedule_time": NOW}, {"job": "rollup_analytics"}):
        task = ScheduledTask(
            id="t", company_id="acme", type="periodic_retry", scheduled_for=NOW, data=data,
            key="k", created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        with pytest.raises(InvalidInput, match="data.job"):
            periodic_retry_task(ctx, task)


def test_a_company_whose_connection_breaks_the_refresh_costs_the_others_nothing() -> None:
    """The provider's answer for beta's connection makes the refresher fail unexpectedly
    (a KeyError reading it): acme's connection is still refreshed and beta is reported
    failed (its connection stays due, so the next run is its retry)."""
    from shared.adapters.crypto import AesGcmCipher, parse_key
    from shared.adapters.token_refresher import LocalTokenRefresher
    from shared.services.integrations_refresh import refresh_due_tokens

    class BreaksForBeta(LocalTokenRefresher):
        def refresh(self, platform: str, refresh_token: str, now: Any) -> Any:
            if refresh_token == "beta-token":
                raise KeyError("access_token")
            return super().refresh(platform, refresh_token, now)

    cipher = AesGcmCipher(parse_key("q4G1t0v2cVq3gZ8v8r0pQm3nW5x7y9zA1b3c5d7e9fA="))
    store = FakeStore()
    for company_id in ("acme", "beta"):
        path = f"companies/{company_id}/social_connections/linkedin"
        sealed = cipher.seal(f"{company_id}-token", f"{path}#refresh_token")
        data = {"platform": "linkedin", "status": "active", "refresh_token": sealed}
        store.docs[path] = (data | {"expires_at": NOW + timedelta(minutes=5)}, NOW)
    result = refresh_due_tokens(store, cipher, BreaksForBeta(), NOW)
    assert (2, 1, ["beta"]) == (result.due, result.refreshed, result.failed)
