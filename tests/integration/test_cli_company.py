"""``growthkit company create|list|rotate-form-key`` through the local Firestore, the
local Auth stand-in and the real clients, in-process (``shared.cli.main``) and once as
the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import bootstrap
from shared.cli import main
from shared.domain.company_setup import company_setup
from shared.errors import AlreadyExists
from shared.services.companies import create_company
from tests.fakes import FakeClock
from tests.support import seed_company

SITE = "https://www.acme-plumbing.example"
GROWTHKIT = Path(sys.executable).with_name("growthkit")
CREATE = [
    "company",
    "create",
    "acme",
    "--name",
    "Acme Plumbing",
    "--admin-email",
    "Owner@Acme.example",
    "--origin",
    SITE,
    "--timezone",
    "Europe/Paris",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    """Exit status, stdout and stderr's lines of one in-process run."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err.splitlines()


def account(auth: Any, project_id: str, email: str) -> dict[str, Any] | None:
    users = auth.accounts.lookup(project_id, {"email": [email]}).get("users", [])
    return users[0] if users else None


def test_create_makes_a_company_that_takes_leads_and_an_admin_who_can_sign_in(
    db: Any, auth_emulator: Any, project_id: str, function_client: Any, capsys: Any
) -> None:
    """One JSON object out; the company with its form key and origin, the admin's account
    with the admin claims and a profile (what booking a consultation needs), a sign-in
    link; a browser post with the printed key from the allowed origin stores a lead."""
    status, out, err = run(capsys, *CREATE, "--postal-address", "1 Main St, Lyon")
    assert (0, []) == (status, err)
    printed = json.loads(out)
    assert {"company_id", "form_key", "admin_uid", "sign_in_link"} <= set(printed)
    assert printed["form_key"].startswith("acme.") and "oobCode=" in printed["sign_in_link"]
    company = db.document("companies/acme").get().to_dict()
    assert (printed["form_key"], [SITE]) == (company["public_form_key"], company["allowed_origins"])
    expected = {"time_zone": "Europe/Paris", "postal_address": "1 Main St, Lyon"}
    assert {**expected, "notify_new_leads": True} == company["settings"]
    profile = db.document(f"companies/acme/users/{printed['admin_uid']}").get().to_dict()
    assert ("admin", "owner@acme.example", "invited") == (
        profile["role"],
        profile["email"],
        profile["status"],
    )
    made = account(auth_emulator, project_id, "owner@acme.example")
    assert made is not None and printed["admin_uid"] == made["localId"]
    assert {"company_id": "acme", "role": "admin"} == json.loads(made["customAttributes"])
    res = function_client("lead_intake").post(
        f"/?key={printed['form_key']}", json={"email": "jane@example.com"}, headers={"Origin": SITE}
    )
    assert 201 == res.status_code


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--admin-email": "not-an-address"}, "--admin-email 'not-an-address' is not valid"),
        ({"--origin": "https://acme.example/contact"}, "without a path"),
        ({"--origin": "ftp://acme.example"}, "http:// or https://"),
        ({"--timezone": "Mars/Olympus"}, "--timezone 'Mars/Olympus' is not valid"),
        ({"acme": "Acme!"}, "company id 'Acme!' is not valid"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_nothing_written(
    db: Any,
    auth_emulator: Any,
    project_id: str,
    capsys: Any,
    change: dict[str, str],
    message: str,
) -> None:
    argv = list(CREATE)
    for name, value in change.items():
        # A flag's value follows it; a positional (the id) is replaced where it stands.
        argv[argv.index(name) + (1 if name.startswith("--") else 0)] = value
    status, out, err = run(capsys, *argv)
    assert (1, "", 1) == (status, out, len(err))
    assert err[0].startswith("growthkit: ") and message in err[0], err
    assert [] == list(db.collections())
    assert account(auth_emulator, project_id, "owner@acme.example") is None


def test_an_existing_id_is_refused_before_any_account_is_made(
    db: Any, auth_emulator: Any, project_id: str, capsys: Any
) -> None:
    seed_company(db)
    before = db.document("companies/acme").get().to_dict()
    status, out, err = run(capsys, *CREATE)
    assert (1, "", ["growthkit: Company acme exists already."]) == (status, out, err)
    assert before == db.document("companies/acme").get().to_dict()
    assert [] == list(db.collection("companies/acme/users").stream())
    assert account(auth_emulator, project_id, "owner@acme.example") is None


def test_another_companys_staff_cannot_be_made_admin_here(
    db: Any, auth_emulator: Any, capsys: Any
) -> None:
    assert 0 == main([*CREATE])
    capsys.readouterr()
    argv = ["company", "create", "globex", "--name", "Globex"]
    status, _, err = run(capsys, *argv, "--admin-email", "owner@acme.example")
    assert (1, ["growthkit: owner@acme.example is staff of company acme already."]) == (
        status,
        err,
    )
    assert not db.document("companies/globex").get().exists


class RacingAdmin:
    """The real user admin, but another operator creates the company while this one
    makes its sign-in link (after the account exists, before the commit)."""

    def __init__(self, inner: Any, db: Any) -> None:
        self.inner, self.db = inner, db

    def sign_in_link(self, email: str) -> str:
        self.db.document("companies/acme").set({"name": "Acme (the other operator's)"})
        link: str = self.inner.sign_in_link(email)
        return link

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_commit_that_fails_after_the_account_was_made_undoes_it(
    db: Any, auth_emulator: Any, project_id: str
) -> None:
    """The commit's create precondition loses the race: the account this call made is
    deleted, an account that existed gets its claims back, and no profile is left."""
    from shared.adapters.user_admin import user_admin

    admin, store = user_admin(), bootstrap.document_store()
    kept = admin.create("kept@acme.example", "Kept")
    admin.set_claims(kept.uid, {"beta": True})
    for email in ("new@acme.example", "kept@acme.example"):
        db.document("companies/acme").delete()
        setup = company_setup(id="acme", name="Acme", admin_email=email)
        with pytest.raises(AlreadyExists):
            create_company(store, RacingAdmin(admin, db), datetime.now(UTC), setup)
    assert account(auth_emulator, project_id, "new@acme.example") is None
    assert {"beta": True} == json.loads(admin_claims(auth_emulator, project_id, kept.uid))
    assert [] == list(db.collection("companies/acme/users").stream())


def admin_claims(auth: Any, project_id: str, uid: str) -> str:
    found = auth.accounts.lookup(project_id, {"localId": [uid]})["users"][0]
    claims: str = found["customAttributes"]
    return claims


def test_list_prints_a_line_per_company_or_json(db: Any, auth_emulator: Any, capsys: Any) -> None:
    assert 0 == main([*CREATE])
    seed_company(db, "zeta", name="Zeta Corp")
    capsys.readouterr()
    status, out, _ = run(capsys, "company", "list")
    lines = [line.split("\t") for line in out.splitlines()]
    today = datetime.now(UTC).date().isoformat()
    assert (
        0,
        [["acme", "Acme Plumbing", today, "1 staff"], ["zeta", "Zeta Corp", "-", "0 staff"]],
    ) == (
        status,
        lines,
    )
    _, out, _ = run(capsys, "company", "list", "--json")
    assert [("acme", 1), ("zeta", 0)] == [
        (row["id"], row["staff"]) for row in map(json.loads, out.splitlines())
    ]


def test_a_rotated_key_keeps_working_for_the_grace_period_then_is_refused(
    db: Any, function_client: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through lead_intake on the clock port: the new key works at once, the old one
    until the grace period ends (a second before: 201; at its end: 404)."""
    seed_company(db)
    clock = FakeClock(datetime.now(UTC))
    monkeypatch.setattr(bootstrap, "clock", clock)
    status, out, _ = run(capsys, "company", "rotate-form-key", "acme", "--grace-days", "2")
    new_key, old_key = out.strip(), "acme.public-key-123"
    assert 0 == status and new_key.startswith("acme.") and new_key != old_key
    intake = function_client("lead_intake")

    def post(key: str, email: str) -> int:
        res = intake.post(f"/?key={key}", json={"email": email}, headers={"Origin": SITE})
        return int(res.status_code)

    assert (201, 201) == (post(new_key, "a@example.com"), post(old_key, "b@example.com"))
    clock.advance(days=2, seconds=-1)
    assert 201 == post(old_key, "c@example.com")
    clock.advance(seconds=1)
    assert (404, 201) == (post(old_key, "d@example.com"), post(new_key, "e@example.com"))


def test_rotating_twice_drops_expired_keys_and_unknown_companies_are_refused(
    db: Any, functions_env: None, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_company(db)
    clock = FakeClock(datetime.now(UTC))
    monkeypatch.setattr(bootstrap, "clock", clock)
    assert 0 == main(["company", "rotate-form-key", "acme"])
    clock.advance(days=8)
    status, out, _ = run(
        capsys, "company", "rotate-form-key", "acme", "--json", "--grace-days", "0"
    )
    printed = json.loads(out.splitlines()[-1])
    assert (0, None) == (status, printed["previous_key_until"])
    assert [] == db.document("companies/acme").get().to_dict()["retired_form_keys"]
    status, _, err = run(capsys, "company", "rotate-form-key", "nope")
    assert (1, ["growthkit: No company nope."]) == (status, err)
    status, _, err = run(capsys, "company", "rotate-form-key", "acme", "--grace-days", "-1")
    assert 1 == status and "grace period must be 0 to 90 days" in err[0]
    with pytest.raises(SystemExit) as usage:  # argparse's refusal: status 2, before any work
        main(["company", "rotate-form-key", "acme", "--grace-days", "nan"])
    assert 2 == usage.value.code and "not a number of days: 'nan'" in capsys.readouterr().err


def test_without_a_project_or_with_a_half_local_environment_nothing_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for name in ("GROWTHKIT_PROJECT_ID", "GCLOUD_PROJECT", "GROWTHKIT_AUTH_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    status, _, err = run(capsys, "company", "list")
    assert 1 == status and "set GOOGLE_CLOUD_PROJECT" in err[0]
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("GROWTHKIT_AUTH_EMULATOR_HOST", "127.0.0.1:1")
    status, _, err = run(capsys, *CREATE)
    assert 1 == status and "without FIRESTORE_EMULATOR_HOST" in err[0]


def test_the_console_script_runs_the_same_command(
    db: Any, auth_emulator: Any, project_id: str
) -> None:
    """The installed ``growthkit`` (pyproject's console script), as a real process with the
    environment make serve prints: JSON on stdout, then the refusal of a second run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    ran = subprocess.run(
        [str(GROWTHKIT), *CREATE], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert (0, "") == (ran.returncode, ran.stderr), ran.stderr
    assert "acme" == json.loads(ran.stdout)["company_id"]
    again = subprocess.run(
        [str(GROWTHKIT), *CREATE], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert (1, "", "growthkit: Company acme exists already.\n") == (
        again.returncode,
        again.stdout,
        again.stderr,
    )
