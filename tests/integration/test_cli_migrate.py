"""``growthkit migrate`` through the local Firestore (and Cloud Tasks) with the real clients:
dry runs, idempotent and resumable runs that lose no concurrent edit, and the fan-out
through Cloud Tasks to run_task."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.firestore_store import FirestoreStore
from shared.cli import main
from shared.services import migrations as runner
from shared.services.migrations import migrate_company, state_path
from tests.support import SITE, seed_company


def seed_old_leads(db: Any, company_id: str, count: int) -> None:
    """Leads as stored before schema 2: a name, no first or last name, no version."""
    seed_company(db, company_id)
    batch = db.batch()
    for i in range(count):
        lead = {"id": f"l{i:03d}", "email": f"p{i}@x.co", "name": f"Pat Doe{i}", "status": "new"}
        batch.set(db.document(f"companies/{company_id}/leads/l{i:03d}"), lead)
    batch.commit()


def lead(db: Any, company_id: str, i: int) -> dict[str, Any]:
    data: dict[str, Any] = db.document(f"companies/{company_id}/leads/l{i:03d}").get().to_dict()
    return data


def lines(capsys: Any) -> list[str]:
    return list(capsys.readouterr().out.splitlines())


def test_dry_run_shows_each_change_and_writes_nothing(
    db: Any, functions_env: None, capsys: Any
) -> None:
    seed_old_leads(db, "acme", 2)
    db.document("companies/acme/leads/l001").update({"schema_version": 2})
    assert 0 == main(["migrate", "--dry-run"])
    assert [
        "companies/acme/leads/l000: first_name: (absent) -> 'Pat', last_name: (absent) -> "
        "'Doe0', schema_version: (absent) -> 2",
        "acme: m0002_split_lead_names (v2): 1 to upgrade, 1 current, dry run",
        "acme: m0003_workflow_next_fire (v3): 0 to upgrade, 0 current, dry run",
    ] == lines(capsys)
    assert "first_name" not in lead(db, "acme", 0)
    assert [] == list(db.collection("companies/acme/schema_migrations").stream())


def test_migrate_splits_names_of_every_company_once(
    db: Any, functions_env: None, capsys: Any
) -> None:
    """Names split, ``name`` kept, version 2; the state says done; a second run (all
    companies, or one) changes nothing."""
    seed_old_leads(db, "acme", 3)
    seed_old_leads(db, "globex", 1)
    assert 0 == main(["migrate"])
    assert [
        "acme: m0002_split_lead_names (v2): 3 upgraded, 0 current, done",
        "acme: m0003_workflow_next_fire (v3): 0 upgraded, 0 current, done",
        "globex: m0002_split_lead_names (v2): 1 upgraded, 0 current, done",
        "globex: m0003_workflow_next_fire (v3): 0 upgraded, 0 current, done",
    ] == lines(capsys)
    assert ("Pat Doe2", "Pat", "Doe2", 2) == tuple(
        lead(db, "acme", 2)[k] for k in ("name", "first_name", "last_name", "schema_version")
    )
    state = db.document(state_path("acme", 2)).get().to_dict()
    assert ("done", 3, 0) == (state["status"], state["upgraded"], state["current"])
    before = db.document("companies/acme/leads/l000").get().update_time
    assert 0 == main(["migrate", "--company", "acme"])
    assert [
        "acme: m0002_split_lead_names (v2): 0 upgraded, 0 current, done",
        "acme: m0003_workflow_next_fire (v3): 0 upgraded, 0 current, done",
    ] == lines(capsys)
    assert before == db.document("companies/acme/leads/l000").get().update_time
    assert 1 == main(["migrate", "--company", "nope"])
    assert "growthkit: No company nope.\n" == capsys.readouterr().err


class CrashAfter(FirestoreStore):
    """The real store, until the process 'dies' (Ctrl-C) at its ``n``-th commit."""

    def __init__(self, client: Any, n: int) -> None:
        super().__init__(client)
        self.left = n

    def commit(self, writes: Any) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt
        super().commit(writes)


def test_a_killed_run_continues_where_it_stopped(
    db: Any, functions_env: None, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 10: the run dies at its third commit; the next run starts after the two
    pages committed, upgrades the 15 leads left, and never rewrites the first 20."""
    monkeypatch.setattr(runner, "PAGE", 10)
    seed_old_leads(db, "acme", 35)
    with pytest.raises(KeyboardInterrupt):
        migrate_company(CrashAfter(db, 3), "acme", datetime.now(UTC))
    state = db.document(state_path("acme", 2)).get().to_dict()
    assert ("running", "companies/acme/leads/l019", 20) == (
        state["status"],
        state["cursor"],
        state["upgraded"],
    )
    assert ("first_name" in lead(db, "acme", 19), "first_name" in lead(db, "acme", 20)) == (
        True,
        False,
    )
    done_before = db.document("companies/acme/leads/l005").get().update_time
    assert 0 == main(["migrate"])
    assert [
        "acme: m0002_split_lead_names (v2): 15 upgraded, 0 current, done",
        "acme: m0003_workflow_next_fire (v3): 0 upgraded, 0 current, done",
    ] == lines(capsys)
    assert done_before == db.document("companies/acme/leads/l005").get().update_time
    state = db.document(state_path("acme", 2)).get().to_dict()
    assert ("done", 35) == (state["status"], state["upgraded"])
    assert all(lead(db, "acme", i)["schema_version"] == 2 for i in range(35))


class EditsDuringTheRun(FirestoreStore):
    """The real store; someone renames a lead just before the run's first commit."""

    def __init__(self, client: Any, db: Any) -> None:
        super().__init__(client)
        self.db, self.edited = db, False

    def commit(self, writes: Any) -> None:
        if not self.edited:
            self.edited = True
            self.db.document("companies/acme/leads/l001").update({"name": "Grace Hopper"})
        super().commit(writes)


def test_an_edit_made_during_the_run_is_kept_and_upgraded(db: Any, functions_env: None) -> None:
    """The page's commit fails its update-time precondition, the page is read again, and
    the lead carries the new name, split."""
    seed_old_leads(db, "acme", 3)
    outcome = migrate_company(EditsDuringTheRun(db, db), "acme", datetime.now(UTC))
    assert [(3, True), (0, True)] == [(o.upgraded, o.done) for o in outcome]
    assert ("Grace Hopper", "Grace", "Hopper") == tuple(
        lead(db, "acme", 1)[k] for k in ("name", "first_name", "last_name")
    )


def test_new_leads_are_written_at_the_current_schema(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """lead_intake and the staff API write first and last names and version 2; a form
    resubmitted to a lead stored before schema 2 brings it up to date."""
    seed_old_leads(db, "acme", 1)
    intake = function_client("lead_intake")
    post = {"form_key": "acme.public-key-123", "email": "ada@x.co", "name": "Ada Lovelace"}
    assert 201 == intake.post("/", json=post, headers={"Origin": SITE}).status_code
    old = {**post, "email": "p0@x.co", "name": None}
    db.document("companies/acme/leads/l000").delete()
    from shared.domain.leads import lead_id_for

    old_path = f"companies/acme/leads/{lead_id_for('p0@x.co')}"
    db.document(old_path).set(
        {
            "id": "x",
            "company_id": "acme",
            "email": "p0@x.co",
            "email_normalized": "p0@x.co",
            "name": "Pat Doe",
        }
    )
    assert 200 == intake.post("/", json=old, headers={"Origin": SITE}).status_code
    staff = function_client("staff_api")
    made = staff.post(
        "/companies/acme/leads",
        json={"email": "grace@x.co", "name": "Hopper, Grace"},
        headers=staff_auth("acme", "admin"),
    )
    assert 201 == made.status_code, made.get_json()
    stored = [
        db.document(f"companies/acme/leads/{lead_id_for(e)}").get().to_dict()
        for e in ("ada@x.co", "p0@x.co", "grace@x.co")
    ]
    assert [("Ada", "Lovelace", 2), ("Pat", "Doe", 2), ("Grace", "Hopper", 2)] == [
        (s["first_name"], s["last_name"], s["schema_version"]) for s in stored
    ]


@pytest.fixture
def run_task_over_http(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """run_task behind a real HTTP server and the local Cloud Tasks delivering to it, with
    the queue created by the real client (as make serve does)."""
    import functions_framework
    from werkzeug.serving import make_server

    from localcloud.tasks import start_tasks
    from shared.adapters.clients import tasks_client
    from shared.settings import get_settings

    app = functions_framework.create_app("run_task", "functions/main.py")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    tasks = start_tasks("127.0.0.1", port=0)
    monkeypatch.setenv("GROWTHKIT_FUNCTIONS_BASE_URL", f"http://127.0.0.1:{http.server_port}")
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", tasks.address)
    bootstrap.reset()
    queue_path = get_settings().queue_path
    retry = {"min_backoff": timedelta(milliseconds=200), "max_attempts": 5}
    parent = queue_path.rsplit("/queues/", 1)[0]
    tasks_client().create_queue(parent=parent, queue={"name": queue_path, "retry_config": retry})
    yield tasks
    bootstrap.reset()
    tasks.stop()
    http.shutdown()


def test_via_tasks_a_task_per_company_runs_the_migration_once(
    db: Any, run_task_over_http: Any, capsys: Any
) -> None:
    """``--via-tasks`` schedules migrate_company per company; the local Cloud Tasks
    delivers each to run_task, which migrates the company; scheduling again adds nothing."""
    from localcloud.tasks.testing import wait_until

    seed_old_leads(db, "acme", 2)
    seed_old_leads(db, "globex", 1)
    assert 0 == main(["migrate", "--via-tasks"])
    scheduled = lines(capsys)
    assert ["acme", "globex"] == [line.split(":")[0] for line in scheduled]

    def migrated() -> bool:
        tasks = db.collection_group("scheduled_tasks").stream()
        return all(t.get("status") == "completed" for t in tasks) and all(
            (db.document(state_path(c, v)).get().to_dict() or {}).get("status") == "done"
            for c in ("acme", "globex")
            for v in (2, 3)
        )

    wait_until(migrated, timeout=30)
    assert ("Pat", "Doe1", 2) == tuple(
        lead(db, "acme", 1)[k] for k in ("first_name", "last_name", "schema_version")
    )
    tasks = list(db.collection("companies/acme/scheduled_tasks").stream())
    assert [("migrate_company", "completed")] == [(t.get("type"), t.get("status")) for t in tasks]
    assert 0 == main(["migrate", "--via-tasks"])
    assert scheduled == lines(capsys)
    assert 1 == len(list(db.collection("companies/acme/scheduled_tasks").stream()))
