"""WordPress: the REST API of the connection's site (developer.wordpress.org/rest-api),
authenticated with an application password over HTTP Basic.

A post is ``POST {site}/wp-json/wp/v2/posts`` with ``title``, ``content``, ``status:
publish``, ``tags`` (term ids: each tag is looked up by name, ``GET /wp/v2/tags?search=``,
or created, ``POST /wp/v2/tags``; a ``term_exists`` refusal names the existing id) and a
``featured_media``: the content's image, fetched (by the rules of every URL staff give)
and uploaded to ``POST /wp/v2/media`` as the body, with ``Content-Disposition``.

The content ends with an invisible marker derived from the post's idempotency key
(``<!-- growthkit-{digest} -->``), so a lost answer is looked up with ``GET
/wp/v2/posts?search=growthkit-{digest}&status=any``. Errors are ``{"code", "message",
"data": {"status"}}``:

- 401 ``incorrect_password``, ``invalid_username``...: reconnect; 403, or 401
  ``rest_cannot_*``: the user may not post: reconnect with another;
- 429, and 503 (maintenance) with ``Retry-After``: wait for it; other 5xx: retried;
- a redirect (the site moved, http to https): refused, saying where to point the
  connection; any other refusal fails with WordPress's message.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from shared.adapters.publishers.http import Answer, Call, body_of, ok, retry_time, text_of
from shared.domain.content import Post, Receipt
from shared.errors import (
    DomainError,
    PermissionDenied,
    Refused,
    RetryLater,
    Transient,
    Unauthenticated,
    Unconfirmed,
)

LABEL = "WordPress"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
THROTTLE_WAIT = timedelta(minutes=1)
_AUTH_CODES = ("incorrect_password", "invalid_username", "invalid_email", "rest_not_logged_in")
_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def publish(call: Call, post: Post) -> Receipt:
    fields: dict[str, Any] = {
        "title": post.title,
        "content": f"{post.body}\n\n<!-- {marker(post)} -->",
        "status": "publish",
        "tags": [_tag_id(call, name) for name in post.tags],
    }
    if post.image_url:
        fields["featured_media"] = _upload(call, post.image_url)
    answer = call.http.json("POST", _api(call, "posts"), fields, headers=_auth(call), acts=True)
    if not ok(answer):
        raise error_for(answer, call.now)
    created = body_of(answer) or {}
    if not created.get("id"):
        raise Unconfirmed("WordPress answered without the post's id.")
    return Receipt(url=str(created.get("link") or ""), external_id=str(created["id"]))


def find(call: Call, post: Post) -> Receipt | None:
    """The site's post carrying this post's marker, whatever its status."""
    url = _api(call, f"posts?search={marker(post)}&status=any&context=edit&per_page=10")
    answer = call.http.send("GET", url, headers=_auth(call))
    if not ok(answer):
        raise error_for(answer, call.now)
    for found in body_of(answer) or []:
        raw = ((found or {}).get("content") or {}).get("raw", "")
        if isinstance(found, dict) and marker(post) in str(raw) and found.get("id"):
            return Receipt(url=str(found.get("link") or ""), external_id=str(found["id"]))
    return None


def marker(post: Post) -> str:
    """A word only this post's content holds: the site is searched for it."""
    return "growthkit-" + hashlib.sha256(post.idempotency_key.encode()).hexdigest()[:20]


def error_for(answer: Answer, now: datetime) -> DomainError:
    """A WordPress answer as the project's error."""
    code, said = _said(answer)
    if answer.status == 401 and code in _AUTH_CODES:
        return Unauthenticated(f"WordPress refused the application password: {said}")
    if answer.status in (401, 403):
        return PermissionDenied(f"WordPress does not let this user post: {said}")
    if answer.status == 429:
        until = retry_time(answer, now, THROTTLE_WAIT) or now + THROTTLE_WAIT
        return RetryLater(f"WordPress rate limit reached: {said}", until)
    if answer.status >= 500:
        at = retry_time(answer, now)
        message = f"WordPress answered {answer.status}: {said}"
        return RetryLater(message, at) if at else Transient(message)
    if 300 <= answer.status < 400:
        moved = answer.headers.get("location", "elsewhere")
        return Refused(f"The WordPress site redirects to {moved}: set the connection's site_url")
    return Refused(f"WordPress refused the post: {said}")


def _tag_id(call: Call, name: str) -> int:
    """The id of the site's tag named ``name``, made when there is none."""
    url = _api(call, f"tags?search={quote(name)}&per_page=100")
    answer = call.http.send("GET", url, headers=_auth(call))
    if not ok(answer):
        raise error_for(answer, call.now)
    for tag in body_of(answer) or []:
        if isinstance(tag, dict) and str(tag.get("name", "")).lower() == name.lower():
            return int(tag["id"])
    made = call.http.json("POST", _api(call, "tags"), {"name": name}, headers=_auth(call))
    existing = ((body_of(made) or {}).get("data") or {}).get("term_id")
    if made.status == 400 and existing:  # made meanwhile, by another post
        return int(existing)
    if not ok(made):
        raise error_for(made, call.now)
    return _id_of(made, "tag")


def _upload(call: Call, image_url: str) -> int:
    """Fetch the content's image and upload it to the site's media; its id."""
    image = call.http.send("GET", image_url, headers={}, max_bytes=MAX_IMAGE_BYTES)
    ctype = image.headers.get("content-type", "").split(";")[0].strip()
    if not ok(image) or not ctype.startswith("image/"):
        raise Refused(f"The image at image_url could not be fetched (HTTP {image.status}, {ctype})")
    name = _FILENAME.sub("-", urlsplit(image_url).path.rsplit("/", 1)[-1]).strip("-.")
    headers = _auth(call) | {
        "Content-Type": ctype,
        "Content-Disposition": f'attachment; filename="{name or "image"}"',
    }
    answer = call.http.send("POST", _api(call, "media"), headers=headers, body=image.body)
    if not ok(answer):
        raise error_for(answer, call.now)
    return _id_of(answer, "image")


def _id_of(answer: Answer, what: str) -> int:
    """The id of what an answer made (``Transient`` when it names none: nothing was
    posted yet, so trying again is safe)."""
    made = body_of(answer)
    try:
        return int(made["id"])
    except (KeyError, TypeError, ValueError) as err:
        raise Transient(f"WordPress answered without the {what}'s id.") from err


def _said(answer: Answer) -> tuple[str, str]:
    body = body_of(answer)
    if isinstance(body, dict) and body.get("message"):
        return str(body.get("code") or ""), f"{body['message']} ({body.get('code')})"
    return "", text_of(answer)


def _api(call: Call, route: str) -> str:
    return f"{call.connection.site_url.rstrip('/')}/wp-json/wp/v2/{route}"


def _auth(call: Call) -> dict[str, str]:
    pair = f"{call.connection.username}:{call.connection.app_password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
