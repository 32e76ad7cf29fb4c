"""How far an outbound message got only moves forward (``delivery_moves``)."""

from __future__ import annotations

import pytest

from shared.domain.leads import InteractionStatus, delivery_moves, handed_status

DELIVERED, BOUNCED = InteractionStatus.DELIVERED, InteractionStatus.BOUNCED


def test_handed_over_is_sent_only_when_a_provider_accepted_it() -> None:
    assert ("sent", "queued") == (handed_status(True).value, handed_status(False).value)


@pytest.mark.parametrize(
    ("current", "reported", "moves"),
    [
        ("queued", DELIVERED, True),
        ("sent", DELIVERED, True),
        ("delivered", DELIVERED, False),
        ("bounced", DELIVERED, False),  # a late delivery report never undoes a bounce
        ("opened", DELIVERED, False),
        ("sent", BOUNCED, True),
        ("delivered", BOUNCED, True),  # providers report bounces after deliveries
        ("bounced", BOUNCED, False),
        ("clicked", BOUNCED, False),  # engaged with: the bounce was wrong
        (None, DELIVERED, True),  # written before statuses were kept: as queued
    ],
)
def test_reports_move_a_message_forward_only(
    current: str | None, reported: InteractionStatus, moves: bool
) -> None:
    assert moves == delivery_moves(current, reported)
