"""Sharded allowances: a limit many requests draw on, spread over several documents.

Firestore sustains about one write per second to a document. A number every request
changes (a popular referral code's uses) therefore lives in ``SHARDS`` shard documents
instead of one: each request writes one shard, picked at random, so a burst spreads its
writes over all of them.

The limit stays exact because it is split too: shard ``i`` may be drawn on at most
``allowances(limit)[i]`` times, checked in the same transaction that writes it, and the
allowances add up to the limit. The price is at the end of a code's life: a request whose
shard is spent tries the next one, so the last uses can take a transaction or two more.
Small limits are not worth it: a code allowing fewer than ``SHARD_FROM`` uses sees at most
that many writes ever, so it keeps its single document (and its exact order of uses).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

SHARDS = 16
# Below this many uses a code keeps one document: it can never take a sustained burst.
SHARD_FROM = 100


def sharded(limit: int) -> bool:
    """Whether a limit this large is split over ``SHARDS`` documents."""
    return limit >= SHARD_FROM


def allowances(limit: int, shards: int = SHARDS) -> list[int]:
    """How many uses each shard grants: as even as possible, adding up to ``limit``."""
    base, extra = divmod(limit, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def shard_path(parent: str, index: int) -> str:
    """The ``index``-th shard document under the document ``parent``."""
    return f"{parent}/shards/{index:02d}"


def shard_order(rng: random.Random | None = None, shards: int = SHARDS) -> list[int]:
    """The shards to try, in order: a random one first (spreading writes), then the rest."""
    start = (rng or random).randrange(shards)
    return [(start + i) % shards for i in range(shards)]


def new_shards(limit: int) -> list[dict[str, Any]]:
    """The shard documents of a fresh limit: each with its allowance, none used."""
    return [
        {"index": i, "limit": allowance, "times_used": 0, "referred_leads": []}
        for i, allowance in enumerate(allowances(limit))
    ]


def total_used(shards: Sequence[dict[str, Any] | None]) -> int:
    """Uses drawn across every shard (a missing shard has none)."""
    return sum(int((s or {}).get("times_used", 0)) for s in shards)


def has_room(shard: dict[str, Any] | None) -> bool:
    """Whether this shard may still be drawn on."""
    return shard is not None and int(shard.get("times_used", 0)) < int(shard.get("limit", 0))
