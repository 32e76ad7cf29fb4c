"""Sharded allowances: exact splits, the order shards are tried in, and what has room."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.counters import (
    SHARD_FROM,
    SHARDS,
    allowances,
    has_room,
    new_shards,
    shard_order,
    sharded,
    total_used,
)


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=1, max_value=64))
def test_allowances_add_up_to_the_limit_and_differ_by_at_most_one(limit: int, shards: int) -> None:
    """However a limit is split, no use is lost or invented and no shard is favoured."""
    split = allowances(limit, shards)
    assert (limit, shards, True) == (sum(split), len(split), max(split) - min(split) <= 1)


def test_only_large_limits_are_sharded() -> None:
    """A code allowing fewer than SHARD_FROM uses keeps one exact document."""
    assert (False, True) == (sharded(SHARD_FROM - 1), sharded(SHARD_FROM))


def test_every_shard_is_tried_once_starting_anywhere() -> None:
    """The order is a rotation of all shards; the start spreads over them."""
    rng = random.Random(7)
    orders = [shard_order(rng) for _ in range(200)]
    assert all(sorted(o) == list(range(SHARDS)) for o in orders)
    assert all(o == o[:1] + [(o[0] + i) % SHARDS for i in range(1, SHARDS)] for o in orders)
    assert len({o[0] for o in orders}) > SHARDS // 2


def test_fresh_shards_have_room_until_their_allowance_is_used() -> None:
    """A new limit's shards are empty; a shard at its allowance, or missing, has no room."""
    shards = new_shards(100)
    assert (0, True) == (total_used(shards), all(has_room(s) for s in shards))
    full = {**shards[0], "times_used": shards[0]["limit"]}
    assert (False, False, full["limit"]) == (has_room(full), has_room(None), total_used([full]))
