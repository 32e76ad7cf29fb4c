"""Staff content functions: publish a content item now or at a scheduled time."""

from __future__ import annotations

from functions import https_fn
from shared.adapters.publishers import build_publisher
from shared.domain.content import ContentStatus, PublishRequest
from shared.services.content import request_publication


@https_fn.on_request(methods=("POST",), secrets=("GROWTHKIT_SECRETS_KEY",))
def publish_content(req: https_fn.Request) -> https_fn.Result:
    """``{"content_id", "scheduled_at"?, "platforms"?}`` -> published now or scheduled.
    A platform that would refuse the content (Instagram without an image, X over its
    length) is a 400 before anything is sent."""
    staff = req.staff()
    body = PublishRequest.model_validate(req.body())
    publisher = build_publisher(req.store, req.queue)
    content, task_id = request_publication(req.store, req.queue, publisher, req.now(), staff, body)
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
