"""Staff content functions: publish a content item now or at a scheduled time."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.adapters.publishers import build_publisher
from shared.domain.content import ContentStatus, PublishRequest
from shared.services.content import request_publication
from shared.settings import get_settings


def _publish(request: flask.Request) -> tuple[Any, int]:
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    staff = verify_bearer(request.headers.get("Authorization"))
    body = PublishRequest.model_validate(read_body(request, get_settings().max_body_bytes))
    store = bootstrap.document_store()
    content, task_id = request_publication(
        store,
        bootstrap.task_queue(),
        build_publisher(store),
        bootstrap.clock.now(),
        staff,
        body,
    )
    answer = {
        "content_id": content.id,
        "status": content.status.value,
        "task_id": task_id,
        "scheduled_at": content.scheduled_at.isoformat() if content.scheduled_at else None,
        "url": content.url,
        "platform_status": {
            p: s.model_dump(mode="json") for p, s in content.platform_status.items()
        },
    }
    # 202: accepted for later (scheduled, or a transient failure its task will retry).
    return answer, 202 if content.status is ContentStatus.SCHEDULED else 200


@functions_framework.http
def publish_content(request: flask.Request) -> flask.Response:
    """``{"content_id", "scheduled_at"?, "platforms"?}`` -> published now or scheduled."""
    return respond(lambda: _publish(request))
