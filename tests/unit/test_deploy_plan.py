"""The deploy plan printed from the manifest, and ``apply`` running it (never for real)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

import functions.main
from shared.deploy.__main__ import main
from shared.deploy.apply import apply_steps
from shared.deploy.plan import Mail, Sms, Step, Target, deploy_steps
from shared.manifest import FUNCTIONS, MESSAGING_SECRETS, Trigger
from shared.settings import ENV_PREFIX, Settings

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "deploy_plan_sample.txt"
SAMPLE_ARGS = ["--project", "growthkit-sample", "--region", "europe-west1"]
SAMPLE_ARGS += ["--firestore-location", "eur3"]
SAMPLE_ARGS += ["--smtp-host", "smtp.sendgrid.net", "--smtp-user", "apikey"]
SAMPLE_ARGS += ["--smtp-sender", "no-reply@growthkit-sample.example"]
SAMPLE_ARGS += ["--sms-account", "AC" + "0" * 32, "--sms-from", "+15005550006"]
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
    task, scheduled and event functions need the OIDC token Google's services send."""
    steps = {s.argv[3]: s.argv for s in deploy_steps(Target("p", "r")) if "functions" in s.argv}
    open_ = sorted(n for n, argv in steps.items() if "--allow-unauthenticated" in argv)
    assert {"lead_intake", "request_review", "staff_api"} <= set(open_)
    assert sorted(f.name for f in FUNCTIONS if f.trigger is Trigger.HTTP) == open_
    closed = sorted(n for n, argv in steps.items() if "--no-allow-unauthenticated" in argv)
    google_called = (Trigger.TASK, Trigger.SCHEDULE, Trigger.EVENT)
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


def flag_values(argv: Sequence[str], flag: str) -> list[str]:
    """The comma-separated items of ``--flag=...`` in ``argv`` (none without it)."""
    found = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{flag}=")]
    return found[0].split(",") if found else []


def test_each_function_is_given_exactly_the_secrets_it_declares() -> None:
    """--set-secrets maps from Secret Manager the common secrets and those the function's
    manifest entry names (plus the OAuth clients of functions that refresh tokens), each
    to the secret of the same name, and nothing else."""
    target = Target("p", "r", oauth_platforms=("linkedin",))
    for function in FUNCTIONS:
        argv = next(s.argv for s in deploy_steps(target) if s.argv[3:4] == (function.name,))
        given = dict(item.split("=", 1) for item in flag_values(argv, "set-secrets"))
        oauth = ["GROWTHKIT_OAUTH_LINKEDIN_CLIENT_ID", "GROWTHKIT_OAUTH_LINKEDIN_CLIENT_SECRET"]
        expected = [*function.required_secrets, *(oauth if function.oauth_clients else [])]
        assert (function.name, expected) == (function.name, list(given))
        for name, source in given.items():
            assert source == name.lower().replace("_", "-") + ":latest"


def test_every_declared_secret_is_a_setting() -> None:
    """A name in a manifest entry's ``secrets`` is a Settings field's variable (a typo
    would deploy a secret nothing reads and let the function start without its own)."""
    variables = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    declared = {name for f in FUNCTIONS for name in f.required_secrets}
    assert set() == declared - variables


def flag(argv: Sequence[str], name: str) -> str:
    """The value of ``--name=value`` in ``argv`` ("" without it)."""
    return next((a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")), "")


def plan_steps() -> list[Step]:
    return deploy_steps(Target("p", "us-central1", oauth_platforms=("linkedin",)))


def deployed() -> dict[str, tuple[str, ...]]:
    """Each function's deploy command, by name."""
    steps = plan_steps()
    return {s.argv[3]: s.argv for s in steps if s.argv[:3] == ("gcloud", "functions", "deploy")}


def grants(command: tuple[str, ...]) -> dict[str, set[str]]:
    """Account -> roles bound by the plan's steps starting with ``command`` (project
    bindings: ``("gcloud", "projects")``; one secret: ``("gcloud", "secrets", ..., id)``)."""
    found: dict[str, set[str]] = {}
    for step in plan_steps():
        if step.argv[: len(command)] == command and "add-iam-policy-binding" in step.argv:
            member = flag(step.argv, "member").removeprefix("serviceAccount:")
            found.setdefault(member, set()).add(flag(step.argv, "role"))
    return found


PROJECT_ROLES = ("gcloud", "projects", "add-iam-policy-binding")


def test_public_functions_run_as_an_account_that_can_only_use_firestore() -> None:
    """Forms and webhooks, open to anyone, run as an account bound to roles/datastore.user
    alone: no Firebase Auth rights (an SSRF or a bug there cannot read or set accounts and
    claims), no Cloud Tasks, no invoking other functions."""
    roles, functions = grants(PROJECT_ROLES), deployed()
    public = {flag(functions[f.name], "service-account") for f in FUNCTIONS if f.public}
    staff = {flag(functions[f.name], "service-account") for f in FUNCTIONS if not f.public}
    assert public and not public & staff
    assert all({"roles/datastore.user"} == roles[account] for account in public)


def test_only_company_users_may_set_claims_and_staff_functions_only_read_accounts() -> None:
    """roles/firebaseauth.admin is held by the account company_users runs as and by no
    other function's; the other staff functions (revocation look-ups) get the viewer
    role; task, scheduled and event functions no Firebase Auth role at all."""
    roles, functions = grants(PROJECT_ROLES), deployed()
    auth_roles = {
        name: {r for r in roles.get(flag(argv, "service-account"), set()) if "firebaseauth" in r}
        for name, argv in functions.items()
    }
    admins = sorted(name for name, held in auth_roles.items() if "roles/firebaseauth.admin" in held)
    staff = {f.name for f in FUNCTIONS if f.trigger is Trigger.HTTP and not f.public}
    assert ["company_users"] == admins
    assert all({"roles/firebaseauth.viewer"} == auth_roles[n] for n in staff - {"company_users"})
    assert all(not auth_roles[f.name] for f in FUNCTIONS if f.trigger is not Trigger.HTTP)


def test_functions_no_browser_calls_say_no_allow_unauthenticated() -> None:
    """Task, scheduled and Firestore-triggered functions are deployed with
    --no-allow-unauthenticated stated, never left to gcloud's default."""
    for function in FUNCTIONS:
        argv = deployed()[function.name]
        browser = function.trigger is Trigger.HTTP
        assert (function.name, browser) == (function.name, "--allow-unauthenticated" in argv)
        assert (function.name, not browser) == (
            function.name,
            "--no-allow-unauthenticated" in argv,
        )


def test_each_secret_is_readable_only_by_the_accounts_of_the_functions_given_it() -> None:
    """Secret Manager access is bound per secret, to exactly the runtime accounts of the
    functions whose --set-secrets name it."""
    needs: dict[str, set[str]] = {}
    for argv in deployed().values():
        for item in flag_values(argv, "set-secrets"):
            secret = item.split("=", 1)[1].removesuffix(":latest")
            needs.setdefault(secret, set()).add(flag(argv, "service-account"))
    for secret, accounts in needs.items():
        readers = grants(("gcloud", "secrets", "add-iam-policy-binding", secret))
        assert (secret, {a: {"roles/secretmanager.secretAccessor"} for a in accounts}) == (
            secret,
            readers,
        )


def test_tasks_scheduler_and_eventarc_call_as_accounts_that_can_only_invoke() -> None:
    """Cloud Tasks' and Scheduler's OIDC tokens are the invoker account's, Eventarc's the
    trigger account's: they may invoke functions (and receive events), nothing else; no
    runtime account may invoke, and only those that enqueue tasks may act as the invoker."""
    roles, functions = grants(PROJECT_ROLES), deployed()
    invoker = {
        flag(argv, "set-env-vars").split("GROWTHKIT_TASK_SERVICE_ACCOUNT=")[1].split(",")[0]
        for argv in functions.values()
    }
    (schedules,) = [
        s.argv for s in plan_steps() if s.argv[:4] == ("python", "-m", "shared.deploy", "schedules")
    ]
    eventarc = {flag(a, "trigger-service-account") for a in functions.values()} - {""}
    runtime = {flag(a, "service-account") for a in functions.values()}
    assert {flag(schedules, "service-account")} == invoker
    assert {"roles/run.invoker"} == roles[invoker.pop()]
    assert {"roles/eventarc.eventReceiver", "roles/run.invoker"} == roles[eventarc.pop()]
    assert all("roles/run.invoker" not in roles[account] for account in runtime)
    acting = grants(("gcloud", "iam", "service-accounts", "add-iam-policy-binding"))
    public = {flag(functions[f.name], "service-account") for f in FUNCTIONS if f.public}
    assert set() == set(acting) & public and acting
    assert {"roles/iam.serviceAccountUser"} == set().union(*acting.values())


def test_accounts_are_created_and_bound_before_any_function_is_deployed() -> None:
    """Every account a function runs or is triggered as is created, once, by a step
    before the first deploy, and so are all the bindings."""
    steps = plan_steps()
    first_deploy = next(
        i for i, s in enumerate(steps) if s.argv[:3] == ("gcloud", "functions", "deploy")
    )
    created = [
        s.argv[4] + "@p.iam.gserviceaccount.com"
        for s in steps[:first_deploy]
        if s.argv[:4] == ("gcloud", "iam", "service-accounts", "create")
    ]
    used = {
        flag(a, f)
        for a in deployed().values()
        for f in ("service-account", "trigger-service-account")
    }
    assert len(created) == len(set(created)) and used - {""} <= set(created)
    binds = [i for i, s in enumerate(steps) if "add-iam-policy-binding" in s.argv]
    assert binds and max(binds) < first_deploy


def test_the_account_prefix_names_every_account_and_must_fit_an_account_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--account-prefix acme-gk`` names acme-gk-<kind>@PROJECT; a prefix that would
    make an id GCP refuses (uppercase, underscore, over 30 characters) is a usage error."""
    assert 0 == main(["plan", *SAMPLE_ARGS, "--account-prefix", "acme-gk"])
    out = capsys.readouterr().out
    assert "acme-gk-eventarc@growthkit-sample.iam" in out and "growthkit-public@" not in out
    for bad in ("Acme", "acme_gk", "a" * 22):
        with pytest.raises(SystemExit):
            main(["plan", *SAMPLE_ARGS, "--account-prefix", bad])
    assert "--account-prefix" in capsys.readouterr().err


MAIL = Mail("smtp.sendgrid.net", "apikey", "Acme <no-reply@acme.example>")
SMS = Sms("AC" + "1" * 32, "+15005550006")
MESSAGING_VARIABLES = ("GROWTHKIT_MAIL_BACKEND", "GROWTHKIT_SMTP_", "GROWTHKIT_SMS_")


def test_mail_and_sms_settings_and_passwords_go_to_the_sending_functions_only() -> None:
    """The functions declared ``sends`` get the relay's and the provider's settings and
    both passwords from Secret Manager; every other function gets none of the settings,
    and no password but a webhook's own (sms_inbound verifies with the SMS token)."""
    functions = {
        s.argv[3]: s.argv
        for s in deploy_steps(Target("p", "r", mail=MAIL, sms=SMS))
        if s.argv[:3] == ("gcloud", "functions", "deploy")
    }
    senders = {f.name for f in FUNCTIONS if f.sends}
    assert {"run_task", "request_review", "newsletter_signup", "company_users"} <= senders
    for name, argv in functions.items():
        env = dict(item.split("=", 1) for item in flag_values(argv, "set-env-vars"))
        mapped = {item.split("=", 1)[0] for item in flag_values(argv, "set-secrets")}
        messaging = {k: v for k, v in env.items() if k.startswith(MESSAGING_VARIABLES)}
        if name in senders:
            assert (name, MAIL.env() | SMS.env()) == (name, messaging)
            assert set(MESSAGING_SECRETS) <= mapped
        else:
            assert (name, {}) == (name, messaging)
            own = set(next(f for f in FUNCTIONS if f.name == name).secrets)
            assert (name, set()) == (name, (mapped & set(MESSAGING_SECRETS)) - own)


def test_the_sms_endpoint_defaults_to_twilios_for_the_account() -> None:
    assert (
        "https://api.twilio.com/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages.json"
        == SMS.env()["GROWTHKIT_SMS_API_URL"]
    )
    assert (
        "https://sms.example/v1"
        == Sms("a", "b", "https://sms.example/v1").env()["GROWTHKIT_SMS_API_URL"]
    )


def test_the_command_line_needs_the_relay_and_the_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without them the sending functions could only refuse to start: the plan is not
    made. A value --set-env-vars cannot carry (a comma) or an SMS endpoint not over
    https is a usage error; port 465 means implicit TLS."""
    without = [a for a in SAMPLE_ARGS if a not in ("--smtp-host", "smtp.sendgrid.net")]
    with pytest.raises(SystemExit):
        main(["plan", *without])
    assert "--smtp-host" in capsys.readouterr().err
    for bad in (["--smtp-sender", "Acme, Inc. <a@b.c>"], ["--sms-api-url", "http://sms.example"]):
        with pytest.raises(SystemExit):
            main(["plan", *SAMPLE_ARGS, *bad])
    assert 0 == main(["plan", *SAMPLE_ARGS, "--smtp-port", "465"])
    assert "GROWTHKIT_SMTP_PORT=465,GROWTHKIT_SMTP_TLS=implicit" in capsys.readouterr().out


def test_the_plan_turns_on_point_in_time_recovery_and_daily_backups(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before any account or function: PITR on the database, and a daily backup schedule
    kept 14 days unless --backup-retention-days says otherwise (at most Firestore's 14
    weeks); a schedule that exists already does not fail the deploy."""
    steps = deploy_steps(Target("p", "r"))
    commands = [s.argv for s in steps]
    pitr = ("gcloud", "firestore", "databases", "update", "--database=(default)", "--enable-pitr")
    (enable,) = [a for a in commands if a[:6] == pitr]
    (backups,) = [
        s for s in steps if s.argv[:5] == ("gcloud", "firestore", "backups", "schedules", "create")
    ]
    assert ("--project=p", "--recurrence=daily", "--retention=14d") == (
        flag_pair(enable, "project"),
        flag_pair(backups.argv, "recurrence"),
        flag_pair(backups.argv, "retention"),
    )
    assert backups.otherwise[:5] == ("gcloud", "firestore", "backups", "schedules", "list")
    first_account = next(
        i for i, a in enumerate(commands) if a[:3] == ("gcloud", "iam", "service-accounts")
    )
    assert commands.index(enable) < commands.index(backups.argv) < first_account
    assert 0 == main(["plan", *SAMPLE_ARGS, "--backup-retention-days", "30"])
    assert "--retention=30d" in capsys.readouterr().out
    for bad in ("0", "99", "two"):
        with pytest.raises(SystemExit):
            main(["plan", *SAMPLE_ARGS, "--backup-retention-days", bad])
    assert "--backup-retention-days" in capsys.readouterr().err


def flag_pair(argv: Sequence[str], name: str) -> str:
    return f"--{name}={flag(argv, name)}"
