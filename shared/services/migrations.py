"""Running the schema migrations (``shared.migrations``) of a company, resumably.

Each migration walks the company's matching documents in path order, a page at a time.
A page's upgrades and the migration's progress (its cursor, the last path done) are one
commit, in ``companies/{c}/schema_migrations/{version}``: a run that is killed continues
after the last page it committed, and redoes nothing. Each document's write is
conditional twice: only documents below the migration's version are upgraded, and only
if nobody changed them since they were read (else the page is read again). So a run may
be repeated or race another, and a document is never upgraded twice nor an edit lost.

``growthkit migrate`` runs companies one after the other; ``--via-tasks`` schedules one
``migrate_company`` task per company instead (named from the version and the company,
so scheduling twice adds nothing), which continues itself in a new task when its time
runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from msgspec import Struct
from msgspec.structs import asdict

from shared.errors import Contention, NotFound, Transient
from shared.migrations import Document, Migration, migrations, version_of
from shared.ports import Data, Increment, PagedStore, Snapshot, TaskQueue, Write

if TYPE_CHECKING:
    from shared.domain.tasks import ScheduledTask
    from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.migrations")
PAGE = 200
ATTEMPTS = 5  # reads of one page that keep meeting concurrent edits
TASK_TYPE = "migrate_company"
# run_task's timeout is 300 s: a task stops taking new pages after this, and continues.
TASK_BUDGET_SECONDS = 240.0


class Outcome(Struct, frozen=True):
    """What one run did with one migration of one company (the state document has the
    totals over every run)."""

    company_id: str
    version: int
    name: str
    upgraded: int
    current: int  # documents found at the version or above it
    done: bool


def state_path(company_id: str, version: int) -> str:
    return f"companies/{company_id}/schema_migrations/{version:04d}"


def company_ids(store: PagedStore, only: str | None = None) -> Iterator[str]:
    """Every company's id, a page at a time (or just ``only``, if it exists).

    Raises:
        NotFound: ``only`` is not a company.
    """
    if only is not None:
        if not store.get_all([f"companies/{only}"])[0].exists:
            raise NotFound(f"No company {only}.")
        yield only
        return
    after: str | None = None
    while page := store.page("", "companies", after, PAGE):
        yield from (s.path.rsplit("/", 1)[1] for s in page)
        after = page[-1].path


def migrate_company(
    store: PagedStore,
    company_id: str,
    now: datetime,
    *,
    dry_run: bool = False,
    report: Callable[[str], None] | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
    pending: tuple[Migration, ...] | None = None,
) -> list[Outcome]:
    """Apply the company's pending migrations, in version order.

    Args:
        store: The database.
        company_id: The company.
        now: When (in the progress documents).
        dry_run: Read only, and ``report`` each change a run would make.
        report: Told each change, as one line, with ``dry_run``.
        out_of_time: Asked between pages; True stops the run (the outcome is not done,
            and the next run continues from there).
        pending: The migrations (default: every one in ``shared.migrations``).

    Returns:
        One outcome per migration, up to the first one left unfinished.
    """
    outcomes = []
    for migration in pending if pending is not None else migrations():
        outcome = _run(store, company_id, migration, now, dry_run, report, out_of_time)
        outcomes.append(outcome)
        if not outcome.done:
            break  # a later migration may depend on this one's work
    return outcomes


def _run(
    store: PagedStore,
    company_id: str,
    migration: Migration,
    now: datetime,
    dry_run: bool,
    report: Callable[[str], None] | None,
    out_of_time: Callable[[], bool],
) -> Outcome:
    state = store.get_all([state_path(company_id, migration.version)])[0].data or {}
    done = state.get("status") == "done"
    counts = {"upgraded": 0, "current": 0}  # this run's (the state document sums them up)
    # A dry run starts from the beginning: it shows what is left, whatever a killed run did.
    after = None if dry_run else state.get("cursor")
    while not done and not out_of_time():
        page = _page(store, company_id, migration, after)
        if page is None:
            done = True
            if not dry_run:
                _finish(store, company_id, migration, now)
            break
        after = _apply(store, company_id, migration, page, now, dry_run, report, counts)
    log.info("company %s, migration %s: %s", company_id, migration.name, counts)
    return Outcome(company_id, migration.version, migration.name, **counts, done=done)


class _Page(Struct, frozen=True):
    snapshots: list[Snapshot]
    last: str  # the last path read, matching or not: where the next page starts


def _page(
    store: PagedStore, company_id: str, migration: Migration, after: str | None
) -> _Page | None:
    """The next page of documents ``migration`` applies to, or None at the end."""
    segments = migration.segments
    parent, nested = f"companies/{company_id}", len(segments) > 1
    found = store.page(parent, segments[-1], after, PAGE, descendants=nested)
    if not found:
        return None
    matching = [s for s in found if s.data is not None and _matches(s.path, parent, segments)]
    return _Page(matching, found[-1].path)


def _matches(path: str, parent: str, segments: list[str]) -> bool:
    """Whether ``path`` is a document of the pattern's collections below ``parent``."""
    relative = path[len(parent) + 1 :].split("/")[:-1]
    return len(relative) == len(segments) and all(
        p in ("*", r) for p, r in zip(segments, relative, strict=True)
    )


def _apply(
    store: PagedStore,
    company_id: str,
    migration: Migration,
    page: _Page,
    now: datetime,
    dry_run: bool,
    report: Callable[[str], None] | None,
    counts: dict[str, int],
) -> str:
    """Upgrade one page (its writes and the new cursor in one commit); the cursor."""
    for attempt in range(ATTEMPTS):
        snapshots = page.snapshots if attempt == 0 else _reread(store, page.snapshots)
        writes, upgraded = _upgrades(migration, snapshots, dry_run, report)
        if dry_run:
            break
        progress = _progress(migration, now, page.last, upgraded, len(snapshots))
        try:
            store.commit(
                [*writes, Write(state_path(company_id, migration.version), progress, "merge")]
            )
            break
        except Contention:
            log.info("a document of %s changed while migrating; reading the page again", company_id)
    else:
        raise Transient(f"Documents of {company_id} kept changing during {migration.name}.")
    counts["upgraded"] += upgraded
    counts["current"] += len(snapshots) - upgraded
    return page.last


def _reread(store: PagedStore, snapshots: list[Snapshot]) -> list[Snapshot]:
    return [s for s in store.get_all([s.path for s in snapshots]) if s.data is not None]


def _upgrades(
    migration: Migration,
    snapshots: list[Snapshot],
    dry_run: bool,
    report: Callable[[str], None] | None,
) -> tuple[list[Write], int]:
    """The writes upgrading what is below the version (each only if still as read)."""
    writes = []
    for snap in snapshots:
        data = cast(Document, snap.data)
        if version_of(data) >= migration.version:
            continue
        upgraded = {**migration.upgrade(dict(data)), "schema_version": migration.version}
        if dry_run and report is not None:
            report(f"{snap.path}: {_changes(data, upgraded)}")
        writes.append(Write(snap.path, upgraded, "set", if_update_time=snap.update_time))
    return writes, len(writes)


def _changes(before: Data, after: Data) -> str:
    """``field: old -> new`` for what differs (what a dry run shows)."""
    missing = object()
    names = sorted(set(before) | set(after))
    changed = [n for n in names if before.get(n, missing) != after.get(n, missing)]
    return ", ".join(
        f"{n}: {_shown(before.get(n, missing))} -> {_shown(after.get(n, missing))}" for n in changed
    )


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float | bool | None):
        return repr(value)
    return "(absent)" if type(value) is object else f"<{type(value).__name__}>"


def _progress(migration: Migration, now: datetime, cursor: str, upgraded: int, read: int) -> Data:
    """The state after a page: its cursor, and the counts summed up over every run."""
    return {
        "version": migration.version,
        "name": migration.name,
        "status": "running",
        "cursor": cursor,
        "upgraded": Increment(upgraded),
        "current": Increment(read - upgraded),
        "updated_at": now,
    }


def _finish(store: PagedStore, company_id: str, migration: Migration, now: datetime) -> None:
    state = {"version": migration.version, "name": migration.name, "status": "done"}
    state |= {"finished_at": now, "updated_at": now}
    store.commit([Write(state_path(company_id, migration.version), state, "merge")])
    log.info("company %s: %s done", company_id, migration.name)


def latest_version() -> int:
    """The version every migration together brings a company to (1: none yet)."""
    return max((m.version for m in migrations()), default=1)


def schedule_migrations(store: PagedStore, queue: TaskQueue, now: datetime, company_id: str) -> str:
    """Schedule the ``migrate_company`` task of a company; its id. The task is named from
    the latest version and the company: scheduling it again is a no-op."""
    from shared.services.scheduling import schedule_task

    version = latest_version()
    return schedule_task(
        store,
        queue,
        now,
        company_id=company_id,
        task_type=TASK_TYPE,
        data={"version": version, "round": 0},
        run_at=now,
        key=f"{TASK_TYPE}:{version}:{company_id}",
    )


def migrate_company_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """The ``migrate_company`` task: run the company's pending migrations for at most
    ``TASK_BUDGET_SECONDS``; if that is not enough, a next round continues them."""
    import time

    store = cast(PagedStore, ctx.store)  # the Firestore store every function gets
    deadline = time.monotonic() + TASK_BUDGET_SECONDS
    outcomes = migrate_company(
        store, task.company_id, ctx.now, out_of_time=lambda: time.monotonic() > deadline
    )
    result: dict[str, Any] = {"migrations": [asdict(o) for o in outcomes]}
    if outcomes and not outcomes[-1].done:
        result["continued_by"] = _next_round(ctx, task)
    return result


def _next_round(ctx: TaskContext, task: ScheduledTask) -> str:
    from shared.services.scheduling import schedule_task

    version, round_ = int(task.data.get("version", 0)), int(task.data.get("round", 0)) + 1
    log.info("migrations of %s continue in round %d", task.company_id, round_)
    return schedule_task(
        ctx.store,
        ctx.queue,
        ctx.now,
        company_id=task.company_id,
        task_type=TASK_TYPE,
        data={"version": version, "round": round_},
        run_at=ctx.now,
        key=f"{TASK_TYPE}:{version}:{task.company_id}:{round_}",
    )
