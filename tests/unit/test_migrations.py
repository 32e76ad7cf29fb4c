"""Schema migrations, pure: the registry, the lead-name split, the lead model at schema 2,
and the runner on in-memory ports (resuming, dry runs, nested collections, task rounds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.intake import merge_submission, new_lead
from shared.domain.leads import SCHEMA_VERSION, Lead, LeadSubmission, split_name
from shared.domain.tasks import ScheduledTask
from shared.migrations import Migration, current, migrations, version_of
from shared.migrations.m0002_split_lead_names import upgrade
from shared.services import migrations as runner
from shared.services.migrations import migrate_company, migrate_company_task, state_path
from shared.services.task_handlers import TaskContext
from shared.workflows.domain.definition import SCHEMA_VERSION as WORKFLOW_SCHEMA
from tests.fakes import FakeMessenger, FakeStore, FakeTaskQueue

NOW = datetime(2026, 3, 1, tzinfo=UTC)
# The runner's tests run migration 2 alone (the next ones add nothing to what they show).
M2 = migrations()[:1]


def test_the_registry_is_numbered_and_leads_are_written_at_its_version() -> None:
    found = migrations()
    assert [
        (2, "m0002_split_lead_names", "leads"),
        (3, "m0003_lead_name_keys", "leads"),
        (4, "m0004_workflow_next_fire", "workflows"),
    ] == [(m.version, m.name, m.collection) for m in found]
    assert SCHEMA_VERSION == current("leads") and 1 == current("consultations")
    assert WORKFLOW_SCHEMA == current("workflows")
    assert (1, 1, 3) == (
        version_of({}),
        version_of({"schema_version": True}),
        version_of({"schema_version": 3}),
    )


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("  Jean   de La  Fontaine ", ("Jean", "de La Fontaine")),
        ("Lovelace, Ada", ("Ada", "Lovelace")),
        ("Cher", ("Cher", None)),
        ("Cher,", ("Cher", None)),
        (", Ada", ("Ada", None)),
        ("A,,", ("A", None)),  # found by the property below
        ("Smith, John, Jr", ("Smith", "John Jr")),
        ("", (None, None)),
        (None, (None, None)),
        (42, (None, None)),
    ],
)
def test_names_split_into_first_and_last(name: Any, parts: tuple[str | None, str | None]) -> None:
    assert parts == split_name(name)


NAMES = st.none() | st.text(st.sampled_from("Ada Lovelace,  \t"), max_size=30)


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4), NAMES)
def test_the_upgrade_adds_the_names_keeps_everything_else_and_is_idempotent(
    fields: dict[str, Any], name: str | None
) -> None:
    """Pure, adds only the two names, the same on a second run, and loses no word: the
    first name is the first word of the name (or of what follows its comma)."""
    document = {**fields, "name": name}
    before = dict(document)
    once = upgrade(document)
    assert before == document
    assert before == {k: v for k, v in once.items() if k not in ("first_name", "last_name")}
    assert once == upgrade(once)
    words = (name or "").replace(",", " ").split()
    parts = " ".join(filter(None, [once["first_name"], once["last_name"]])).split()
    assert sorted(words) == sorted(parts)
    if words and "," not in (name or ""):
        assert words == parts


def test_the_lead_model_reads_an_older_lead_as_migrated_and_writes_the_current_schema() -> None:
    old = {"id": "l1", "company_id": "acme", "email": "a@x.co", "email_normalized": "a@x.co"}
    lead = Lead.model_validate({**old, "name": "Ada  LOVELACE"})
    assert ("Ada", "LOVELACE", "ada lovelace", 3) == (
        lead.first_name,
        lead.last_name,
        lead.name_lower,
        lead.schema_version,
    )
    kept = Lead.model_validate({**old, "name": "Ada", "first_name": "A.", "schema_version": 2})
    assert ("A.", None) == (kept.first_name, kept.last_name)
    sub = LeadSubmission(form_key="acme.k", email="a@x.co", name="Grace Hopper")
    made = new_lead("acme", "l1", sub, "1.2.3.4", NOW)
    assert ("Grace", "Hopper", SCHEMA_VERSION) == (
        made.first_name,
        made.last_name,
        made.schema_version,
    )
    again = LeadSubmission(form_key="acme.k", email="a@x.co", name="Grace Brewster Hopper")
    merged = merge_submission(made, again, "1.2.3.4", NOW).model_dump()
    # A later post fills blanks only: the name, and so its parts, stay as first given.
    assert ("Grace", "Hopper") == (merged["first_name"], merged["last_name"])
    unnamed = LeadSubmission(form_key="acme.k", email="a@x.co")
    assert "Grace" == merge_submission(made, unnamed, "1.2.3.4", NOW).first_name


def leads(store: FakeStore, count: int, company_id: str = "acme") -> None:
    store.docs[f"companies/{company_id}"] = ({"name": company_id}, NOW)
    for i in range(count):
        store.docs[f"companies/{company_id}/leads/l{i:03d}"] = ({"name": f"Pat Doe{i}"}, NOW)


def test_a_stopped_run_resumes_after_its_last_page_and_never_redoes_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "PAGE", 10)
    store = FakeStore()
    leads(store, 25)
    store.docs["companies/acme/leads/l007"] = ({"name": "Done", "schema_version": 2}, NOW)
    pages = iter([False, True])
    first = migrate_company(store, "acme", NOW, out_of_time=lambda: next(pages, True), pending=M2)
    assert [(9, 1, False)] == [(o.upgraded, o.current, o.done) for o in first]
    assert "companies/acme/leads/l009" == store.docs[state_path("acme", 2)][0]["cursor"]
    commits = store.commits
    second = migrate_company(store, "acme", NOW, pending=M2)
    assert [(15, 0, True)] == [(o.upgraded, o.current, o.done) for o in second]
    state = store.docs[state_path("acme", 2)][0]
    assert ("done", 24, 1) == (state["status"], state["upgraded"], state["current"])
    assert 3 == store.commits - commits  # two pages and the final state: page one not redone
    assert ("Pat", "Doe3", 2) == tuple(
        store.docs["companies/acme/leads/l003"][0][k]
        for k in ("first_name", "last_name", "schema_version")
    )
    assert [(0, 0, True)] == [
        (o.upgraded, o.current, o.done) for o in migrate_company(store, "acme", NOW, pending=M2)
    ]


def test_a_dry_run_reports_and_writes_nothing() -> None:
    store = FakeStore()
    leads(store, 2)
    lines: list[str] = []
    outcomes = migrate_company(store, "acme", NOW, dry_run=True, report=lines.append, pending=M2)
    assert [(2, True)] == [(o.upgraded, o.done) for o in outcomes]
    assert [
        "companies/acme/leads/l000: first_name: (absent) -> 'Pat', last_name: (absent) -> 'Doe0',"
        " schema_version: (absent) -> 2",
        "companies/acme/leads/l001: first_name: (absent) -> 'Pat', last_name: (absent) -> 'Doe1',"
        " schema_version: (absent) -> 2",
    ] == lines
    assert 0 == store.commits


def test_a_nested_pattern_reaches_only_its_collections() -> None:
    store = FakeStore()
    for path in (
        "companies/acme/leads/l1/interactions/i1",
        "companies/acme/leads/l2/interactions/i2",
        "companies/acme/campaigns/c1/interactions/i3",
        "companies/acme/interactions/i4",
        "companies/other/leads/l1/interactions/i5",
    ):
        store.docs[path] = ({"n": 1}, NOW)
    tagged = Migration(3, "m0003_test", "leads/*/interactions", lambda d: {**d, "tagged": True})
    migrate_company(store, "acme", NOW, pending=(tagged,))
    assert ["i1", "i2"] == sorted(
        p.rsplit("/", 1)[1] for p, (d, _) in store.docs.items() if d.get("tagged")
    )


def test_a_task_out_of_time_continues_in_a_next_round(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "TASK_BUDGET_SECONDS", -1.0)
    store, queue = FakeStore(), FakeTaskQueue()
    leads(store, 3)
    ctx = TaskContext(store, queue, FakeMessenger(), NOW)
    task = ScheduledTask(
        id="t",
        company_id="acme",
        type="migrate_company",
        scheduled_for=NOW,
        data={"version": 2, "round": 0},
    )
    result = migrate_company_task(ctx, task)
    follow = store.docs[f"companies/acme/scheduled_tasks/{result['continued_by']}"][0]
    assert ({"version": 2, "round": 1}, "migrate_company:2:acme:1") == (
        follow["data"],
        follow["key"],
    )
    assert [False] == [m["done"] for m in result["migrations"]]


def test_migration_3_adds_the_search_key_and_is_idempotent() -> None:
    from shared.migrations.m0003_lead_name_keys import upgrade as add_key

    lead = {"name": "  BOB   Builder ", "tags": ["x"]}
    once = add_key(lead)
    assert ({**lead, "name_lower": "bob builder"}, once) == (once, add_key(once))
    assert "" == add_key({"name": None})["name_lower"]


def test_schedule_workflows_get_their_next_cron_time() -> None:
    """Migration 4: a schedule trigger's next time after it was created or last fired (on
    the trigger's wall clock); other triggers, and a cron that never comes, get none. The
    model reads an older workflow the same way."""
    from shared.migrations.m0004_workflow_next_fire import upgrade
    from shared.workflows.domain.definition import Workflow

    daily = {"type": "schedule", "cron": "0 9 * * *", "time_zone": "Europe/Paris"}
    created = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)  # 08:30 in Paris
    doc = {"trigger": daily, "created_at": created, "name": "Daily"}
    assert datetime(2026, 3, 1, 8, 0, tzinfo=UTC) == upgrade(doc)["next_fire_at"]
    fired = {**doc, "schedule_fired_at": datetime(2026, 3, 1, 8, 0, tzinfo=UTC)}
    assert datetime(2026, 3, 2, 8, 0, tzinfo=UTC) == upgrade(fired)["next_fire_at"]
    assert "next_fire_at" not in upgrade({**doc, "trigger": {"type": "lead_created"}})
    never = {**doc, "trigger": {"type": "schedule", "cron": "0 0 30 2 *"}}
    assert None is upgrade(never)["next_fire_at"]
    step = {"id": "s1", "type": "add_tag", "tag": "x"}
    stored = {**doc, "id": "w", "company_id": "acme", "steps": [step]}
    workflow = Workflow.model_validate(stored)
    assert (upgrade(doc)["next_fire_at"], WORKFLOW_SCHEMA) == (
        workflow.next_fire_at,
        workflow.schema_version,
    )
