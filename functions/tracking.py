"""Public tracking functions: the open pixel and the click redirect of marketing messages.

Both answer whatever happens to the recording (a person's click must not fail because
Firestore is briefly unavailable); only a link that is not ours is refused, so the
redirect never sends anyone to a URL that was not in the message.
"""

from __future__ import annotations

import logging

import flask

from functions import https_fn
from shared.domain.tracking import PIXEL, HitKind
from shared.errors import Transient
from shared.services.tracking import Hit, read_token, record_hit

log = logging.getLogger("growthkit.tracking")
_NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def _record(req: https_fn.Request, kind: HitKind) -> str | None:
    """The click's URL, recorded if possible (the token is checked either way)."""
    ua = req.headers.get("User-Agent", "")
    hit = Hit(kind, req.args.get("t", ""), req.method, ua, req.client_ip)
    key = req.settings.signing_key.get_secret_value().encode()
    url = read_token(hit, key)[2]
    try:
        record_hit(req.store, req.now(), key, hit)
    except Transient:
        log.warning("%s not recorded (Firestore unavailable)", hit.kind, exc_info=True)
    return url


@https_fn.on_request(methods=("GET", "HEAD"), public=True)
def track_open(req: https_fn.Request) -> https_fn.Result:
    """GET ``?t=<token>``: a 1x1 GIF; the open is recorded (counted unless a machine's)."""
    _record(req, "open")
    return flask.Response(PIXEL, 200, {"Content-Type": "image/gif", **_NO_STORE})


@https_fn.on_request(methods=("GET", "HEAD"), public=True)
def track_click(req: https_fn.Request) -> https_fn.Result:
    """GET ``?t=<token>``: 302 to the link's original URL (signed into the token); the
    click is recorded (counted unless a scanner's)."""
    url = _record(req, "click")
    return flask.Response(status=302, headers={"Location": url or "", **_NO_STORE})
