"""Periodic runs fan out (shared.services.periodic), on in-memory fakes: one task per
company with work and none for the others, a page of companies per invocation with a
continuation, nothing new from a repeated run, a company's later pages as tasks of their
own, and one company's failure retried for that company alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput, Transient
from shared.events import ScheduledEvent
from shared.ports import Filter, Snapshot, Write
from shared.services import periodic
from shared.services.periodic import JOBS, Job, Page, Step, fan_out, page_of, periodic_company_task
from shared.services.task_handlers import TaskContext
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue
from tests.periodic_runs import deliver_all, run_periodic

NOW = FakeClock().now()
WORK = "companies/{}/work"
RUN: dict[str, list[str]] = {}  # what the test job's unit saw, by company


def work_page(store: Any, _when: Any, after: Snapshot | None, limit: int) -> Page:
    """The test job's source: the companies with work, fewest first."""
    found = store.query("companies", [Filter("work", ">", 0)], limit=limit, start_after=after)
    return page_of(found, limit, ("work",))


def work_unit(ctx: TaskContext, company_id: str, _when: Any, after: Snapshot | None) -> Step:
    """Two of the company's documents per page; ``boom`` breaks it."""
    page = ctx.store.page(f"companies/{company_id}", "work", after.path if after else None, 2)
    names = [s.path.rsplit("/", 1)[1] for s in page]
    if "boom" in names:
        raise KeyError("boom")
    RUN.setdefault(company_id, []).extend(names)
    return Step(names, page[-1] if len(page) == 2 else None)


@pytest.fixture
def job(monkeypatch: pytest.MonkeyPatch) -> str:
    """A periodic job of this module's own, with fan-out pages of two companies."""
    RUN.clear()
    monkeypatch.setitem(JOBS, "test_job", Job(f"{__name__}:work_page", f"{__name__}:work_unit"))
    monkeypatch.setattr(periodic, "FANOUT_PAGE", 2)
    return "test_job"


def world(**work: int) -> FakeStore:
    store = FakeStore()
    for company_id, count in work.items():
        store.commit([Write(f"companies/{company_id}", {"work": max(count, 1)})])
        store.commit([Write(f"{WORK.format(company_id)}/w{i}", {}) for i in range(count)])
    store.commit([Write("companies/idle", {"name": "idle"})])
    return store


def tasks_of(store: FakeStore) -> dict[str, dict[str, Any]]:
    return {p: d for p, (d, _) in store.docs.items() if "/scheduled_tasks/" in p}


def test_a_run_fans_out_a_page_of_companies_per_invocation(job: str) -> None:
    """Three companies with work, pages of two: the first invocation schedules two tasks
    and continues itself; the continuation schedules the third. The idle company gets
    nothing, and each company's documents are done, two per task."""
    store, queue = world(acme=3, beta=1, gamma=2), FakeTaskQueue()
    answers = run_periodic(store, queue, job, NOW)
    fanned = [a for a in answers if "scheduled" in a]
    assert [(1, 2, True), (2, 1, False)] == [
        (a["page"], a["scheduled"], a["continued"]) for a in fanned
    ]
    assert {"acme": ["w0", "w1", "w2"], "beta": ["w0"], "gamma": ["w0", "w1"]} == RUN
    pages = sorted((d["company_id"], d["data"]["page"]) for d in tasks_of(store).values())
    # A full page may have a next one: gamma's second page finds nothing and ends it.
    assert [("acme", 1), ("acme", 2), ("beta", 1), ("gamma", 1), ("gamma", 2)] == pages
    assert all(d["status"] == "completed" for d in tasks_of(store).values())


def test_a_repeated_run_adds_nothing(job: str) -> None:
    """Scheduler's retry of the run (same schedule time), and a second delivery of its
    continuation, create no task and no Cloud Task; the next run's time is a new run."""
    store, queue = world(acme=1, beta=1, gamma=1), FakeTaskQueue()
    run_periodic(store, queue, job, NOW)
    stored, enqueued = dict(tasks_of(store)), dict(queue.tasks)
    event = ScheduledEvent("growthkit-test_job", NOW)
    again = fan_out(store, queue, NOW, event, job)
    continuation = next(t for t in enqueued.values() if t.target == job)
    from shared.events import scheduled_event

    second = fan_out(store, queue, NOW, scheduled_event({}, NOW, continuation.payload), job)
    assert (0, 0) == (again.scheduled, second.scheduled)
    assert (stored.keys(), enqueued.keys()) == (tasks_of(store).keys(), queue.tasks.keys())
    later = fan_out(store, queue, NOW, ScheduledEvent(event.job_name, NOW + timedelta(days=1)), job)
    assert 2 == later.scheduled


def test_a_company_that_fails_is_retried_alone(job: str) -> None:
    """Beta's unit raises: its task is left pending with the error, for Cloud Tasks to
    retry (a 503), and the other companies' tasks complete."""
    store, queue = world(acme=1, beta=0, gamma=1), FakeTaskQueue()
    store.commit([Write(f"{WORK.format('beta')}/boom", {})])
    answers = run_periodic(store, queue, job, NOW)
    assert ["retry"] == [a["outcome"] for a in answers if a.get("outcome") == "retry"]
    by_company = {d["company_id"]: d for d in tasks_of(store).values()}
    assert ("pending", "Transient: test_job failed for company beta: KeyError: 'boom'") == (
        by_company["beta"]["status"],
        by_company["beta"]["error"],
    )
    assert ("completed", "completed") == (
        by_company["acme"]["status"],
        by_company["gamma"]["status"],
    )
    store.docs.pop(f"{WORK.format('beta')}/boom")
    queue.delivered.discard(next(n for n in queue.tasks if "beta" in n))  # type: ignore[attr-defined]
    deliver_all(store, queue, FakeClock(NOW), FakeMessenger())
    assert "completed" == next(
        d["status"] for d in tasks_of(store).values() if d["company_id"] == "beta"
    )


@pytest.mark.parametrize(
    "data",
    [
        {"job": "mine_bitcoin", "schedule_time": NOW},
        {"job": "rollup_analytics"},
        {"job": "rollup_analytics", "schedule_time": NOW, "page": "two"},
    ],
)
def test_a_company_task_names_a_known_job_and_its_run(data: dict[str, Any]) -> None:
    """An unknown job, a missing schedule time, a page that is not a number: the task
    fails for good, saying what it needs."""
    ctx = TaskContext(FakeStore(), FakeTaskQueue(), FakeMessenger(), NOW)
    task = ScheduledTask(
        id="t", company_id="acme", type="periodic_company", scheduled_for=NOW, data=data,
        key="k", created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="data.job"):
        periodic_company_task(ctx, task)


def test_a_unit_failure_becomes_transient_but_a_bad_task_does_not(job: str) -> None:
    """Whatever a unit raises is its company's transient failure (retried); the task's
    own refusal is not."""
    store = world(beta=0)
    store.commit([Write(f"{WORK.format('beta')}/boom", {})])
    ctx = TaskContext(store, FakeTaskQueue(), FakeMessenger(), NOW)
    task = ScheduledTask(
        id="t", company_id="beta", type="periodic_company", scheduled_for=NOW,
        data={"job": job, "schedule_time": NOW, "page": 1}, key="k", created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    with pytest.raises(Transient, match="KeyError"):
        periodic_company_task(ctx, task)


class BetaCannotCommit(FakeStore):
    """A store on which every commit touching company beta's codes fails."""

    def commit(self, writes: Any) -> Any:
        if any(w.path.startswith("companies/beta/referrals/") for w in writes):
            raise Transient("beta's partition is down")
        return super().commit(writes)


def test_the_expiry_goes_on_for_the_others_and_retries_the_failing_company() -> None:
    """Beta's codes cannot be written: acme's expire, beta's task waits for its retry,
    and the run repeated adds no task."""
    store, queue = BetaCannotCommit(), FakeTaskQueue()
    past = NOW - timedelta(minutes=1)
    for company_id in ("acme", "beta"):
        for i in range(3):
            data = {"status": "active", "expires_at": past + timedelta(seconds=i)}
            store.docs[f"companies/{company_id}/referrals/C{i}"] = (data, NOW)
    run_periodic(store, queue, "expire_referrals", NOW)
    statuses = {p: d["status"] for p, (d, _) in store.docs.items() if "/referrals/" in p}
    assert {"expired"} == {s for p, s in statuses.items() if "/acme/" in p}
    assert {"active"} == {s for p, s in statuses.items() if "/beta/" in p}
    by_company = {d["company_id"]: d["status"] for d in tasks_of(store).values()}
    assert {"acme": "completed", "beta": "pending"} == by_company
    tasks = len(queue.tasks)
    fan_out(
        store, queue, NOW, ScheduledEvent("growthkit-expire_referrals", NOW), "expire_referrals"
    )
    assert tasks == len(queue.tasks)


def test_a_company_whose_connection_breaks_the_refresh_costs_the_others_nothing() -> None:
    """The provider's answer for beta's connection makes the refresher fail unexpectedly
    (a KeyError reading it): each company's refresh is its own task, so acme's connection
    is refreshed and only beta's task fails (and is retried)."""
    from shared.adapters.crypto import AesGcmCipher, parse_key
    from shared.adapters.token_refresher import LocalTokenRefresher
    from shared.services.integrations_refresh import refresh_company_tokens

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
    result, cursor = refresh_company_tokens(store, cipher, BreaksForBeta(), NOW, "acme")
    assert (1, 1, None) == (result.due, result.refreshed, cursor)
    with pytest.raises(KeyError):
        refresh_company_tokens(store, cipher, BreaksForBeta(), NOW, "beta")


def test_a_cursor_survives_the_trip_through_a_task_body() -> None:
    """Times, numbers, strings and nested maps come back as they were (JSON on the way)."""
    import json

    from shared.events import cursor_data, cursor_from_data

    cursor = Snapshot("companies/acme/leads/l1", {"at": NOW, "settings": {"p": 1.5, "s": "x"}})
    assert cursor == cursor_from_data(json.loads(json.dumps(cursor_data(cursor))))


@pytest.mark.parametrize(
    "continuation",
    [
        "page 2",
        {"job_name": "j", "schedule_time": NOW.isoformat(), "page": 1},
        {"job_name": "j", "schedule_time": NOW.isoformat(), "page": True},
        {"job_name": "", "schedule_time": NOW.isoformat(), "page": 2},
        {"job_name": "j", "schedule_time": (NOW + timedelta(days=1)).isoformat(), "page": 2},
        {"job_name": "j", "schedule_time": 5, "page": 2},
        {"job_name": "j", "schedule_time": NOW.isoformat(), "page": 2, "cursor": {"path": "a"}},
        {
            "job_name": "j",
            "schedule_time": NOW.isoformat(),
            "page": 2,
            "cursor": {"path": "a/b", "data": {"x": {"list": [1]}}},
        },
    ],
)
def test_a_continuation_that_is_not_one_is_refused(continuation: Any) -> None:
    """Not an object, page 1 or not a number, no job, a schedule time in the future or not
    a time, a cursor that is not a document's: InvalidInput (a 400), never a guess."""
    from shared.events import scheduled_event

    with pytest.raises(InvalidInput):
        scheduled_event({}, NOW, {"continuation": continuation})
