"""Every function, hostile requests generated from openapi.json: never a 5xx, never a hang,
every refusal a 4xx with a message, and the database consistent afterwards.

Each function gets ``HOSTILE_EXAMPLES`` (default 60) requests mixing valid bodies,
mutated ones (hostile values, dropped fields, deep nesting), raw bytes (invalid UTF-8,
NaN, huge numbers, oversize), wrong Content-Types, and forged or broken Authorization,
Cloud Tasks, Cloud Scheduler and CloudEvent headers; all through functions-framework
against the local Firestore. Afterwards every document is read back and checked
(``invariants.py``), and what the public forms answered is compared with what they stored.
Requests follow the operations openapi.json publishes: the sub-paths of the functions
routed by path (``/companies/{companyId}/...``, filled with the seeded world's ids, now and
then with junk segments), the methods and query parameters each operation takes, and its
real request body models (CSV bodies for ``outreach_import``). Template fields, CSV imports
and rules inputs get their own targeted properties in ``test_hostile_inputs.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import given

from shared.manifest import FUNCTIONS
from tests.hostile.conftest import HOSTILE
from tests.hostile.invariants import all_documents, counted, problems
from tests.hostile.traffic import HostileRequest, hostile_requests
from tests.hostile.world import World

SLOW_SECONDS = 10.0


def describe(req: HostileRequest, res: Any) -> str:
    return (
        f"{req.method} {req.path} {req.headers} body={req.body[:300]!r}"
        f" -> {res.status_code} {res.get_data()[:300]!r}"
    )


def check_answer(req: HostileRequest, res: Any, elapsed: float) -> None:
    """A 2xx, a 303 to the thank-you page, or a 4xx that says what is wrong; promptly."""
    assert res.status_code < 500, describe(req, res)
    assert elapsed < SLOW_SECONDS, describe(req, res)
    if res.status_code >= 400 and req.method != "HEAD":
        error = (res.get_json(silent=True) or {}).get("error", {})
        assert isinstance(error.get("message"), str) and error["message"], describe(req, res)


def hammer(world: World, name: str) -> Counter[str]:
    """Send the generated requests to ``name``; the statuses answered ("200 replayed" for
    an answer repeated to a retry, which stores nothing)."""
    answers: Counter[str] = Counter()
    delivery = world.deliveries.get(name)

    @HOSTILE
    @given(req=hostile_requests(name, world.hints, world.credentials, delivery))
    def probe(req: HostileRequest) -> None:
        started = time.monotonic()
        res = world.send(name, req)
        check_answer(req, res, time.monotonic() - started)
        replayed = " replayed" if res.headers.get("Idempotent-Replayed") else ""
        answers[f"{res.status_code}{replayed}"] += 1

    probe()
    return answers


@pytest.mark.parametrize("name", [f.name for f in FUNCTIONS])
def test_hostile_requests_get_4xx_or_2xx_and_leave_no_partial_documents(
    world: World, name: str
) -> None:
    """Whatever arrives, the answer is never a 5xx and the database stays consistent."""
    hammer(world, name)
    assert [] == problems(all_documents(world.db), {"acme", "other"})


def test_lead_intake_stores_exactly_what_it_accepted(world: World) -> None:
    """Each accepted form post is one form interaction (or one spam record), no more."""
    before = all_documents(world.db)
    answers = hammer(world, "lead_intake")
    after = all_documents(world.db)
    accepted = answers["200"] + answers["201"] + answers["303"]
    stored = counted(after, "interactions") - counted(before, "interactions")
    spam = counted(after, "spam_submissions") - counted(before, "spam_submissions")
    assert accepted == stored + spam


def test_redeem_referral_stores_exactly_what_it_accepted(world: World) -> None:
    """Each accepted redemption is one redemption marker and one use of the code."""
    before = all_documents(world.db)
    answers = hammer(world, "redeem_referral")
    after = all_documents(world.db)
    markers = counted(after, "referral_redemptions") - counted(before, "referral_redemptions")
    assert answers["200"] + answers["201"] == markers
