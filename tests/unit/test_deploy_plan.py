"""The deploy plan printed from the manifest, and ``apply`` running it (never for real)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

import functions.main
from shared.deploy.__main__ import main
from shared.deploy.apply import apply_steps
from shared.deploy.plan import Step, Target, deploy_steps
from shared.manifest import FUNCTIONS, Trigger

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "deploy_plan_sample.txt"
SAMPLE_ARGS = ["--project", "growthkit-sample", "--region", "europe-west1"]
SAMPLE_ARGS += ["--firestore-location", "eur3"]
REGENERATE = "python -m shared.deploy plan " + " ".join(SAMPLE_ARGS) + f" > {SAMPLE.name}"


class Recorder:
    """Stands in for running commands: records each and answers with scripted statuses."""

    def __init__(self, statuses: Sequence[int] = ()) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.statuses = list(statuses)

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(tuple(argv))
        return self.statuses.pop(0) if self.statuses else 0


def test_plan_for_the_sample_project_matches_the_checked_in_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI prints exactly tests/data/deploy_plan_sample.txt (regenerate it on purpose)."""
    assert 0 == main(["plan", *SAMPLE_ARGS])
    assert SAMPLE.read_text(encoding="utf-8") == capsys.readouterr().out, REGENERATE


def test_growthkit_deploy_is_the_same_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """``growthkit deploy plan`` prints the same plan as ``python -m shared.deploy plan``
    (kept as an alias), and offers the same four commands."""
    import shared.cli

    assert 0 == shared.cli.main(["deploy", "plan", *SAMPLE_ARGS])
    assert SAMPLE.read_text(encoding="utf-8") == capsys.readouterr().out
    with pytest.raises(SystemExit):
        shared.cli.main(["deploy", "--help"])
    assert "{schedules,plan,apply,package}" in capsys.readouterr().out


def test_every_manifest_function_is_deployed_once_from_its_entry_point() -> None:
    """One ``gcloud functions deploy`` per manifest function, each resolvable in main.py."""
    steps = deploy_steps(Target("p", "us-central1"))
    deployed = [s.argv[3] for s in steps if s.argv[:3] == ("gcloud", "functions", "deploy")]
    assert [f.name for f in FUNCTIONS] == deployed
    assert all(callable(getattr(functions.main, name)) for name in deployed)
    assert all(callable(getattr(functions.main, name)) for name in deployed)


def test_browser_called_functions_allow_unauthenticated_calls() -> None:
    """Web forms and staff functions (ID token checked in code) are open at the IAM level;
    task and scheduled functions need the OIDC token Google's services send."""
    steps = {s.argv[3]: s.argv for s in deploy_steps(Target("p", "r")) if "functions" in s.argv}
    open_ = sorted(n for n, argv in steps.items() if "--allow-unauthenticated" in argv)
    assert {"lead_intake", "request_review", "staff_api"} <= set(open_)
    assert sorted(f.name for f in FUNCTIONS if f.trigger is Trigger.HTTP) == open_
    closed = sorted(n for n, argv in steps.items() if "--no-allow-unauthenticated" in argv)
    google_called = (Trigger.TASK, Trigger.SCHEDULE)
    assert sorted(f.name for f in FUNCTIONS if f.trigger in google_called) == closed
    assert {"run_task", "dispatch_due_tasks"} <= set(closed)


def test_firestore_triggers_filter_on_their_document_pattern() -> None:
    """Each event function gets its event type, database and path pattern, no HTTP trigger."""
    target = Target("p", "us-central1", firestore_location="nam5")
    for function in (f for f in FUNCTIONS if f.trigger is Trigger.EVENT):
        argv = next(s.argv for s in deploy_steps(target) if function.name in s.argv)
        expected = {
            "--trigger-location=nam5",
            f"--trigger-event-filters=type={function.full_event_type}",
            "--trigger-event-filters=database=(default)",
            f"--trigger-event-filters-path-pattern=document={function.document}",
        }
        assert (expected, False) == (expected & set(argv), "--trigger-http" in argv)


def test_dry_run_apply_prints_the_plan_and_runs_nothing() -> None:
    """Every step is printed, in the plan's order, and the runner is never called."""
    runner, printed = Recorder(), list[str]()
    steps = deploy_steps(Target("growthkit-sample", "europe-west1"))
    assert 0 == apply_steps(steps, runner, dry_run=True, out=printed.append)
    assert ([], [s.render() for s in steps]) == (runner.calls, printed[1:-1:2])


def test_dry_run_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """``apply --dry-run`` shows the same commands as ``plan`` and says nothing ran."""
    assert 0 == main(["apply", *SAMPLE_ARGS, "--dry-run"])
    out = capsys.readouterr().out
    plan = SAMPLE.read_text(encoding="utf-8")
    commands = [line for line in plan.splitlines() if line and not line.startswith("# ")]
    assert (commands, "deploy: dry run, nothing was run") == (
        [line for line in out.splitlines()[:-1] if not line.startswith("# ")],
        out.splitlines()[-1],
    )


def test_apply_stops_at_the_first_failing_step() -> None:
    """A failing step ends the deploy with its status; later steps never run."""
    steps = [Step("one", ("a",)), Step("two", ("b",)), Step("three", ("c",))]
    runner = Recorder([0, 3])
    assert 3 == apply_steps(steps, runner, out=lambda _: None)
    assert [("a",), ("b",)] == runner.calls


def test_create_falls_back_to_update() -> None:
    """A queue that exists is updated; the step fails only if the update fails too."""
    step = Step("queue", ("create",), ("update",))
    assert (0, [("create",), ("update",)]) == (
        apply_steps([step], (ok := Recorder([1, 0])), out=lambda _: None),
        ok.calls,
    )
    assert 5 == apply_steps([step, Step("next", ("x",))], Recorder([1, 5]), out=lambda _: None)


def test_rendered_commands_are_the_commands_run() -> None:
    """The shell text of each step splits back into exactly the argv ``apply`` runs."""
    for step in deploy_steps(Target("p", "us-central1")):
        words = shlex.split(step.render().replace("\\\n", " "))
        expected = [*step.argv, "||", *step.otherwise] if step.otherwise else list(step.argv)
        assert expected == words
