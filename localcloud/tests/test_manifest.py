"""The manifest a project passes in: JSON files, ``module:attribute`` references, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localcloud.manifest import (
    FunctionSpec,
    Manifest,
    ManifestError,
    QueueSpec,
    Trigger,
    load_manifest,
)

JSON_SHAPE: dict[str, Any] = {
    "source": "src/main.py",
    "location": "europe-west1",
    "functions": [
        {"name": "hello", "trigger": "http"},
        {"name": "on_user", "trigger": "event", "event_type": "written", "document": "users/{u}"},
        {"name": "nightly", "trigger": "schedule", "schedule": "0 3 * * *", "job_id": "n"},
    ],
    "queues": [{"name": "work", "max_attempts": 5}],
}


def test_a_json_file_reads_with_its_source_beside_it(tmp_path: Path) -> None:
    """Every field arrives typed; a relative source is relative to the JSON file."""
    path = tmp_path / "conf" / "app.json"
    path.parent.mkdir()
    path.write_text(json.dumps(JSON_SHAPE), encoding="utf-8")
    manifest = load_manifest(str(path))
    assert path.parent / "src" / "main.py" == manifest.source
    assert "europe-west1" == manifest.location
    hello, on_user, nightly = manifest.functions
    assert (Trigger.HTTP, "hello", "hello") == (hello.trigger, hello.target, hello.scheduler_job_id)
    assert "google.cloud.firestore.document.v1.written" == on_user.full_event_type
    assert ("n", "Etc/UTC") == (nightly.scheduler_job_id, nightly.time_zone)
    assert (QueueSpec("work", max_attempts=5),) == manifest.queues


def test_to_dict_reads_back_the_same() -> None:
    manifest = Manifest.from_dict(JSON_SHAPE, base=Path("/srv"))
    assert manifest == Manifest.from_dict(json.loads(json.dumps(manifest.to_dict())))


@pytest.mark.parametrize("kind", ["manifest", "dict", "factory"])
def test_a_python_reference_names_a_manifest_a_dict_or_a_factory(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``module:attribute``: a Manifest, a dict in the JSON shape, or a callable of either."""
    module = tmp_path / f"toy_{kind}.py"
    module.write_text(
        "from localcloud.manifest import Manifest, FunctionSpec\n"
        "MANIFEST = Manifest((FunctionSpec('hello'),))\n"
        "DICT = {'functions': [{'name': 'hello'}]}\n"
        "def factory():\n    return MANIFEST\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    attribute = {"manifest": "MANIFEST", "dict": "DICT", "factory": "factory"}[kind]
    manifest = load_manifest(f"toy_{kind}:{attribute}")
    assert (FunctionSpec("hello"),) == manifest.functions


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"functions": [{"name": "a", "trigger": "cron"}]}, "trigger 'cron' is not one of"),
        ({"functions": [{"name": "a", "trigger": "event", "document": "x/{y}"}]}, "event_type"),
        ({"functions": [{"name": "a", "trigger": "event", "event_type": "written"}]}, "document"),
        ({"functions": [{"name": "a", "trigger": "schedule"}]}, "needs a schedule"),
        ({"functions": [{"name": "a/b"}]}, "function name 'a/b'"),
        ({"functions": [{"name": "a"}, {"name": "a"}]}, "function named twice: a"),
        ({"functions": [{"trigger": "http"}]}, "needs a name"),
        ({"functions": [{"name": "a", "retries": 3}]}, "function: unknown keys retries"),
        ({"function": []}, "manifest: unknown keys function"),
        ([], "must be a JSON object"),
    ],
)
def test_a_wrong_manifest_says_what_is_wrong(data: Any, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.from_dict(data)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("missing.json", "cannot read the manifest"),
        ("no_such_module_here:MANIFEST", "No module named"),
        ("json:NOPE", "has no attribute"),
        ("just-words", "give a JSON file or module:attribute"),
    ],
)
def test_a_wrong_reference_says_what_is_wrong(ref: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=message):
        load_manifest(str(tmp_path / ref) if ref.endswith(".json") else ref)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_text("{functions: []}", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"app\.json is not JSON"):
        load_manifest(path)


def test_a_queue_sends_only_the_settings_it_has() -> None:
    """Unset settings keep the service's defaults; fractional backoffs keep their nanos."""
    queue = QueueSpec("work", max_attempts=3, min_backoff_seconds=0.5)
    assert {
        "name": "projects/p/locations/l/queues/work",
        "rate_limits": {},
        "retry_config": {"max_attempts": 3, "min_backoff": {"seconds": 0, "nanos": 500_000_000}},
    } == queue.resource("projects/p/locations/l")
