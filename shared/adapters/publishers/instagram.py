"""Instagram: content publishing through the Graph API (developers.facebook.com/docs/
instagram-platform/content-publishing), for an Instagram professional account linked
to a Page.

Two steps: ``POST /{ig-user-id}/media`` with ``image_url`` (a public URL Meta fetches)
and ``caption`` makes a container; ``POST /{ig-user-id}/media_publish`` with
``creation_id`` publishes it. Instagram publishes images only, so content without
``image_url`` is refused before anything is sent (and already when it is scheduled).
Only the second step posts: a lost answer to the first is just retried. A lost answer
to the second cannot be looked up by the post (the container is not kept), so the
platform is marked ``unknown`` for staff to check. Errors are Graph's
(``facebook.error_for``).
"""

from __future__ import annotations

from shared.adapters.publishers.facebook import auth, error_for
from shared.adapters.publishers.http import Call, body_of, ok
from shared.domain.content import Post, Receipt
from shared.domain.publishing import post_text, refusal
from shared.errors import Refused, Transient, Unconfirmed

LABEL = "Instagram"


def publish(call: Call, post: Post) -> Receipt:
    why = refusal(
        "instagram", title=post.title, body=post.body, content_type=post.type,
        image_url=post.image_url,
    )  # fmt: skip
    if why or not post.image_url:
        raise Refused(why or "Instagram publishes images only: set image_url")
    base = f"{call.config.facebook_graph_url}/{_account(call)}"
    caption = post_text(post.title, post.body, post.type)
    made = call.http.form(
        f"{base}/media", {"image_url": post.image_url, "caption": caption}, headers=auth(call)
    )
    if not ok(made):
        raise error_for(made, call.now)
    container = (body_of(made) or {}).get("id")
    if not container:
        raise Transient("Instagram answered without the container's id.")
    answer = call.http.form(
        f"{base}/media_publish", {"creation_id": str(container)}, headers=auth(call), acts=True
    )
    if not ok(answer):
        raise error_for(answer, call.now)
    media_id = (body_of(answer) or {}).get("id")
    if not media_id:
        raise Unconfirmed("Instagram answered without the post's id.")
    return Receipt(url=_permalink(call, str(media_id)), external_id=str(media_id))


def find(_call: Call, _post: Post) -> Receipt | None:
    """Nothing to look up by (see the module): None, so the post is for staff to check."""
    return None


def _permalink(call: Call, media_id: str) -> str:
    """The post's link (``GET /{media-id}?fields=permalink``); empty when it cannot be
    read: the post is published either way."""
    url = f"{call.config.facebook_graph_url}/{media_id}?fields=permalink"
    try:
        answer = call.http.send("GET", url, headers=auth(call))
    except Transient:
        return ""
    link = (body_of(answer) or {}).get("permalink") if ok(answer) else None
    return str(link or "")


def _account(call: Call) -> str:
    return str(call.connection.ig_user_id or call.connection.user_id)
