"""Schedule-triggered workflows get ``next_fire_at``, the first time their cron names after
they were created or last fired: the every-minute run queries only the workflows due."""

from __future__ import annotations

from typing import Any

from shared.workflows.domain.definition import schedule_fields

VERSION = 4
COLLECTION = "workflows"


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, **schedule_fields(document)}
