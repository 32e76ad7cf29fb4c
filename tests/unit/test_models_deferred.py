"""Every domain model defers building its validator to first use (shared.domain.common's
``DeferredModel``), and every one of them still builds.

Deferring moves a model's schema errors from import to its first use, so the build of
every model is checked here instead; and since a function's first requests may arrive on
several threads at once, the first use is raced too. Each check runs in a fresh
interpreter: by the time this module runs, other tests have built the models.
"""

from __future__ import annotations

import json

from tests.support import in_fresh_interpreter

# Prints {"deferred": [...], "built": [...]} for every pydantic model defined in shared/
# (shared.deploy only runs on a workstation and is left out).
SURVEY = """
import importlib, json, pkgutil, pydantic, shared
for info in pkgutil.walk_packages(shared.__path__, "shared."):
    if not info.name.startswith("shared.deploy"):
        importlib.import_module(info.name)

def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)

ours = {m for m in models(pydantic.BaseModel) if m.__module__.startswith("shared.")}
names = lambda found: sorted(f"{m.__module__}.{m.__qualname__}" for m in found)
# default_factory=list makes the first build inspect list's text signature, compiling the
# tokenizer's regular expressions on the cold start (shared.domain.common): [] instead.
slow_factories = [f"{m.__qualname__}.{n}" for m in ours for n, f in m.model_fields.items()
                  if f.default_factory in (list, tuple)]
# A module with `from __future__ import annotations` hands pydantic each field's type as a
# string, which its first build compiles and evaluates: about 0.1 M instructions a field.
import __future__, sys
postponed = sorted({m.__module__ for m in ours
                    if getattr(sys.modules[m.__module__], "annotations", None)
                    is __future__.annotations})
print(json.dumps({
    "slow_factories": sorted(slow_factories),
    "postponed_annotations": postponed,
    "unbuilt": names(m for m in ours if not m.__pydantic_complete__),
    "built_at_import": names(m for m in ours if m.__pydantic_complete__),
    "without_defer": names(m for m in ours if not m.model_config.get("defer_build")),
}))
for model in ours:
    model.model_rebuild()
    model.model_json_schema()
print(json.dumps(names(m for m in ours if not m.__pydantic_complete__)))
"""

# 16 threads released together each validate a good and a bad body on models nobody has
# used yet; before pydantic 2.14 a thread could meet the model mid-rebuild and validate
# with its parent's validator, which accepts anything.
RACE = """
import json, threading
from pydantic import ValidationError
from shared.scoring.domain.rules import LeadScoringRule
from shared.domain.events import EventBatch

GOOD_RULE = {"name": "Opened", "category": "engagement", "points": 5,
             "criteria": [{"field": "interaction.status", "op": "==",
                           "value": "opened"}]}
BAD_RULE = {**GOOD_RULE, "points": 0, "unknown": 1}
GOOD_BATCH = {"form_key": "acme.key",
              "events": [{"type": "page_view", "name": "Home", "session_id": "session-1"}]}
BAD_BATCH = {**GOOD_BATCH, "events": [{"type": "page_view", "name": "Home"}]}
barrier = threading.Barrier(16)
outcomes = []

def refused(model, body):
    try:
        model.model_validate(body)
    except ValidationError:
        return True
    return False

def first_use(index):
    barrier.wait()
    model, good, bad = [(LeadScoringRule, GOOD_RULE, BAD_RULE),
                        (EventBatch, GOOD_BATCH, BAD_BATCH)][index % 2]
    outcomes.append((refused(model, good), refused(model, bad)))

threads = [threading.Thread(target=first_use, args=(i,)) for i in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(outcomes))
"""


def _run(code: str) -> list[str]:
    return in_fresh_interpreter(code).strip().splitlines()


def test_every_model_is_unbuilt_after_import_and_builds_when_asked() -> None:
    """Importing all of shared builds no model's validator; each model then builds
    (validator, serializer and JSON schema) without an error; no model's module postpones
    its annotations (their first builds would compile every field's type from text)."""
    survey_line, unbuilt_after = _run(SURVEY)
    survey = json.loads(survey_line)
    assert len(survey["unbuilt"]) > 60  # every model, found through the subclass tree
    assert ([], []) == (survey["built_at_import"], survey["without_defer"])
    assert [] == survey["slow_factories"]
    assert [] == survey["postponed_annotations"]
    assert [] == json.loads(unbuilt_after)


def test_first_use_from_many_threads_at_once_validates_correctly() -> None:
    """Sixteen threads' first validations of unbuilt models all accept the good body and
    refuse the bad one."""
    outcomes = json.loads(_run(RACE)[0])
    assert [[False, True]] * 16 == outcomes
