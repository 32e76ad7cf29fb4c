"""The cyclic collector is held off from loading an entry point through its app's first
answer (shared/startup.py), and only then: it runs again afterwards, and loading an entry
outside functions-framework (a test, a tool) leaves it on.

Each check runs in a fresh interpreter: the hold is taken once per process.
"""

from __future__ import annotations

import json

from tests.support import in_fresh_interpreter

# A GET to lead_intake is refused (405) before any Google client is touched, so the first
# answer needs no Firestore.
THROUGH_FIRST_ANSWER = """
import gc, json, functions_framework
app = functions_framework.create_app("lead_intake", "functions/main.py")
loaded = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
client = app.test_client()
first = client.get("/")
after = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
second = client.get("/")
print(json.dumps({"loaded": loaded, "after": after, "statuses": [first.status_code,
                  second.status_code], "enabled_at_end": gc.isenabled()}))
"""

OUTSIDE_THE_FRAMEWORK = """
import gc, json
import functions.main as main
main.lead_intake
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}))
"""


def _run(script: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(in_fresh_interpreter(script).splitlines()[-1])
    return result


def test_collector_is_held_until_the_first_answer_then_runs() -> None:
    result = _run(THROUGH_FIRST_ANSWER)
    loaded, after = result["loaded"], result["after"]
    assert isinstance(loaded, dict) and isinstance(after, dict)
    assert loaded["enabled"] is False  # held across the load and into the first request
    assert loaded["frozen"] > 0  # the entry point's objects, frozen before a fork
    assert after["enabled"] is True
    # What the first answer loaded is frozen too, not left for the collector to walk.
    assert after["frozen"] > loaded["frozen"]
    assert result["statuses"] == [405, 405]
    assert result["enabled_at_end"] is True


def test_loading_outside_the_framework_leaves_the_collector_on() -> None:
    result = _run(OUTSIDE_THE_FRAMEWORK)
    assert result == {"enabled": True, "frozen": True}
