"""The staff API's resource index: it names every family's resources exactly, and an
instance loads only the family its requests use (the cold-start point of the index)."""

from __future__ import annotations

import json

from shared.staff_api.services.registry import FAMILIES, RESOURCES, family_specs
from tests.support import in_fresh_interpreter

OTHER_FAMILIES = (
    "shared.staff_api.services.record_resources",
    "shared.services.business",
    "shared.campaigns.services.outreach_resources",
    "shared.scoring.services.rule_resources",
    "shared.campaigns.domain.campaigns",
)


def test_the_index_names_each_familys_specs_exactly() -> None:
    for (module, attribute), names in FAMILIES.items():
        specs = family_specs(module, attribute)
        assert [spec.name for spec in specs] == list(names), module
    everything = [name for names in FAMILIES.values() for name in names]
    assert len(everything) == len(set(everything)) == len(RESOURCES)
    assert list(RESOURCES) == everything
    assert all(RESOURCES[name].name == name for name in everything)


def test_unknown_resources_are_absent() -> None:
    assert RESOURCES.get("users") is None
    assert "nope" not in RESOURCES


def test_the_lead_list_loads_only_the_lead_family() -> None:
    code = f"""
import json, sys
import functions.staff
from shared.staff_api.services.registry import RESOURCES
spec = RESOURCES["leads"]
before = sorted(m for m in {OTHER_FAMILIES!r} if m in sys.modules)
RESOURCES["campaigns"]
after = sorted(m for m in {OTHER_FAMILIES!r} if m in sys.modules)
print(json.dumps([spec.name, before, after]))
"""
    name, before, after = json.loads(in_fresh_interpreter(code))
    assert (name, before) == ("leads", [])
    assert after == [
        "shared.campaigns.domain.campaigns",
        "shared.staff_api.services.record_resources",
    ]
