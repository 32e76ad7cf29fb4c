"""``growthkit company export|import`` through the local Firestore and the real client:
lossless round trips under the same or another id, refusals that write nothing, progress
only on a terminal, and memory that does not grow with the number of documents."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore

from shared.cli import main
from tests.support import ROOT, SITE, seed_company


def every_document(db: Any, company_id: str) -> dict[str, dict[str, Any]]:
    """Path -> data of the company document and everything below it, found by walking
    collections (not by the query the export uses)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(collection: Any) -> None:
        for ref in collection.list_documents():
            snap = ref.get()
            if snap.exists:
                found[ref.path] = snap.to_dict()
            for child in ref.collections():
                walk(child)

    company = db.document(f"companies/{company_id}")
    if company.get().exists:
        found[company.path] = company.get().to_dict()
    for child in company.collections():
        walk(child)
    return found


def typed(value: Any) -> Any:
    """A value with its Firestore type spelled out (and timestamps to the nanosecond),
    so comparing two of these compares types, not Python's loose equality."""
    if isinstance(value, DatetimeWithNanoseconds):
        return ("timestamp", value.rfc3339())
    if isinstance(value, firestore.DocumentReference):
        return ("reference", value.path)
    if isinstance(value, firestore.GeoPoint):
        return ("geo", value.latitude, value.longitude)
    if isinstance(value, float):
        return ("double", "nan" if math.isnan(value) else repr(value))
    if isinstance(value, dict):
        return ("map", {k: typed(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("array", [typed(v) for v in value])
    return (type(value).__name__, value)


def seed_everything(db: Any) -> None:
    """Every Firestore type, nested, in collections with any names, at any depth, plus a
    document whose parent does not exist and another company that must stay out."""
    seed_company(db)
    when = DatetimeWithNanoseconds(2026, 3, 1, 12, 0, 0, nanosecond=123456789)
    db.document("companies/acme/leads/l1").set(
        {
            "company_id": "acme",
            "name": "Ada Lovelace",
            "when": when,
            "raw": b"\x00\xffbytes",
            "next": db.document("companies/acme/leads/l2"),
            "elsewhere": db.document("companies/globex/leads/g1"),
            "where": firestore.GeoPoint(48.8566, 2.3522),
            "nested": {"list": [1, 1.0, None, True, {"deep": [when]}], "empty": {}, "none": []},
            "big": 2**62,
            "ratio": -0.0,
            "odd": math.nan,
            "path_text": "companies/acme/leads/l2",
        }
    )
    db.document("companies/acme/leads/l2").set({"company_id": "acme", "score": 10})
    db.document("companies/acme/leads/l1/interactions/i1").set({"body": "hi", "n": 1})
    db.document("companies/acme/leads/l1/notes/n.1").set({"text": "dotted id"})
    db.document("companies/acme/ghosts/g1/items/i1").set({"orphan": True})
    db.document("companies/globex/leads/g1").set({"company_id": "globex"})


def run(capsys: Any, *argv: str) -> tuple[int, Any, list[str]]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out) if out.strip() else None, err.splitlines()


def test_export_then_import_under_another_id_is_lossless(
    db: Any, function_client: Any, tmp_path: Path, capsys: Any
) -> None:
    """Every document and every field type comes back, paths, references and company
    ids renamed to the new company; what points outside it is kept; the copy's form key
    (renamed too) takes leads from the company's site."""
    seed_everything(db)
    out = tmp_path / "acme"
    status, printed, err = run(capsys, "company", "export", "acme", "--out", str(out))
    assert (0, 6, []) == (status, printed["documents"], err)
    assert {
        "export.json",
        "companies.ndjson",
        "companies/acme/leads.ndjson",
        "companies/acme/leads/l1/interactions.ndjson",
        "companies/acme/leads/l1/notes.ndjson",
        "companies/acme/ghosts/g1/items.ndjson",
    } == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    status, printed, err = run(capsys, "company", "import", "acme-copy", "--from", str(out))
    assert (0, 6, "acme", []) == (status, printed["documents"], printed["from_company_id"], err)
    original, copy = every_document(db, "acme"), every_document(db, "acme-copy")
    assert {p.replace("companies/acme", "companies/acme-copy", 1) for p in original} == set(copy)
    lead = copy["companies/acme-copy/leads/l1"]
    assert ("acme-copy", "companies/acme-copy/leads/l2", "companies/globex/leads/g1") == (
        lead["company_id"],
        lead["next"].path,
        lead["elsewhere"].path,
    )
    assert "companies/acme-copy/leads/l2" == lead["path_text"]
    expected = typed(original["companies/acme/leads/l1"])
    expected[1].update(typed({k: lead[k] for k in ("company_id", "next", "path_text")})[1])
    assert expected == typed(lead)
    for path, data in original.items():
        if path.startswith("companies/acme/leads/l1/"):
            assert typed(data) == typed(copy[path.replace("acme", "acme-copy", 1)])
    key = db.document("companies/acme-copy").get().to_dict()["public_form_key"]
    assert "acme-copy.public-key-123" == key
    res = function_client("lead_intake").post(
        f"/?key={key}", json={"email": "new@example.com"}, headers={"Origin": SITE}
    )
    assert 201 == res.status_code


def test_the_same_id_round_trips_and_a_company_with_documents_needs_merge(
    db: Any, functions_env: None, tmp_path: Path, capsys: Any
) -> None:
    seed_everything(db)
    before = {p: typed(d) for p, d in every_document(db, "acme").items()}
    assert 0 == main(["company", "export", "acme", "--out", str(tmp_path / "x")])
    capsys.readouterr()
    status, printed, err = run(capsys, "company", "import", "acme", "--from", str(tmp_path / "x"))
    assert (1, None) == (status, printed)
    assert [
        "growthkit: Company acme has documents already: import into a company without any, "
        "or pass --merge to replace documents of the same path."
    ] == err
    db.document("companies/acme/leads/l2").set({"changed": True})
    db.document("companies/acme/leads/l3").set({"added": True})
    status, printed, _ = run(
        capsys, "company", "import", "acme", "--from", str(tmp_path / "x"), "--merge"
    )
    after = {p: typed(d) for p, d in every_document(db, "acme").items()}
    assert (0, 6) == (status, printed["documents"])
    assert before == {p: v for p, v in after.items() if p != "companies/acme/leads/l3"}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: (out / "export.json").unlink(), "has no export.json: not a complete export"),
        (
            lambda out: _append(out / "companies/acme/leads.ndjson", '{"path": "x"}'),
            "companies/acme/leads.ndjson:3: a line is",
        ),
        (
            lambda out: _append(
                out / "companies/acme/leads.ndjson",
                '{"path": "companies/acme/leads/l9", "fields": {"n": {"integerValue": 1}}}',
            ),
            "companies/acme/leads.ndjson:3: n: bad integerValue",
        ),
        (
            lambda out: _append(
                out / "companies/acme/leads.ndjson",
                '{"path": "companies/globex/leads/l9", "fields": {}}',
            ),
            "is not a document of company acme",
        ),
        (
            lambda out: _append(
                out / "companies/acme/leads.ndjson",
                '{"path": "companies/acme/leads/l9", "fields": {}}',
            ),
            "The export lists 6 documents but holds 7.",
        ),
    ],
)
def test_a_damaged_export_writes_nothing(
    db: Any, functions_env: None, tmp_path: Path, capsys: Any, damage: Any, message: str
) -> None:
    seed_everything(db)
    out = tmp_path / "x"
    assert 0 == main(["company", "export", "acme", "--out", str(out)])
    capsys.readouterr()
    damage(out)
    status, printed, err = run(capsys, "company", "import", "restored", "--from", str(out))
    assert (1, None, 1) == (status, printed, len(err))
    assert message in err[0], err
    assert {} == every_document(db, "restored")


def _append(file: Path, line: str) -> None:
    with file.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def test_export_refuses_an_unknown_company_and_a_used_directory(
    db: Any, functions_env: None, tmp_path: Path, capsys: Any
) -> None:
    seed_company(db)
    status, _, err = run(capsys, "company", "export", "nope", "--out", str(tmp_path / "a"))
    assert (1, ["growthkit: Company nope has no documents."]) == (status, err)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    status, _, err = run(capsys, "company", "export", "acme", "--out", str(tmp_path / "used"))
    assert (1, [f"growthkit: {tmp_path / 'used'} is not an empty directory."]) == (status, err)
    assert ["notes.txt"] == [p.name for p in (tmp_path / "used").iterdir()]
    status, _, err = run(capsys, "company", "import", "Bad_Id", "--from", str(tmp_path / "a"))
    assert 1 == status and "has no export.json" in err[0]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_only_and_not_with_quiet(
    db: Any, functions_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    seed_everything(db)
    terminal = Terminal()
    with monkeypatch.context() as patched:
        patched.setattr(sys, "stderr", terminal)
        assert 0 == main(["company", "export", "acme", "--out", str(tmp_path / "a")])
        assert "\r\x1b[K6 documents (done)\n" == terminal.getvalue()
        terminal.truncate(0)
        terminal.seek(0)
        assert 0 == main(["company", "export", "acme", "--out", str(tmp_path / "b"), "--quiet"])
        assert "" == terminal.getvalue()
    capsys.readouterr()
    assert 0 == main(["company", "import", "copy", "--from", str(tmp_path / "a")])
    assert "" == capsys.readouterr().err


# Runs one command in a process of its own (the test's process also runs the local
# Firestore, whose memory would count too) and prints the peak of the Python heap while
# the command ran, in bytes (what the imports take is the same for any company size).
MEASURED = """
import sys, tracemalloc
import shared.cli, shared.cli.company, shared.adapters.firestore_transfer
import shared.adapters.dump_files, shared.services.company_transfer
from shared.adapters.clients import firestore_client
firestore_client()
tracemalloc.start()
status = shared.cli.main(sys.argv[1:])
print(tracemalloc.get_traced_memory()[1], file=sys.stderr)
sys.exit(status)
"""


def peak_of(*argv: str) -> int:
    ran = subprocess.run(
        [sys.executable, "-c", MEASURED, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == ran.returncode, ran.stderr[-2000:]
    return int(ran.stderr.splitlines()[-1])


def seed_leads(db: Any, company_id: str, count: int) -> None:
    """``count`` leads of about a kilobyte, each with an interaction every tenth."""
    seed_company(db, company_id)
    batch, pending = db.batch(), 0
    for i in range(count):
        lead = db.document(f"companies/{company_id}/leads/l{i:05d}")
        batch.set(lead, {"name": f"Lead {i}", "notes": "x" * 1000, "n": i})
        pending += 1
        if i % 10 == 0:
            batch.set(lead.collection("interactions").document("i"), {"n": i})
            pending += 1
        if pending >= 450:
            batch.commit()
            batch, pending = db.batch(), 0
    batch.commit()


@pytest.mark.timeout(600)
def test_memory_does_not_grow_with_the_number_of_documents(
    db: Any, functions_env: None, tmp_path: Path
) -> None:
    """Five times the documents (1,100 against 5,500, about 1 KB each), the same peak of
    the Python heap within 25% and 1 MB, for export and import alike: both stream (holding
    the 4,400 more documents would take more than 4 MB)."""
    peaks = {}
    for company_id, count in (("small", 1000), ("large", 5000)):
        seed_leads(db, company_id, count)
        out = tmp_path / company_id
        exported = peak_of("company", "export", company_id, "--out", str(out), "--quiet")
        imported = peak_of("company", "import", f"{company_id}-copy", "--from", str(out))
        peaks[company_id] = (exported, imported)
    for small, large in zip(peaks["small"], peaks["large"], strict=True):
        assert large < small * 1.25 and large - small < 1_000_000, peaks
