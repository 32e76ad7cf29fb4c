"""Public tracking functions: the open pixel and the click redirect of marketing messages.

Both answer whatever happens to the recording (a person's click must not fail because
Firestore is briefly unavailable); only a link that is not ours is refused, so the
redirect never sends anyone to a URL that was not in the message, and a click link past
``click_link_max_age_days``: a refused click is a small page saying so, not a redirect.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import flask

from functions import https_fn
from functions._pages import refused
from shared.campaigns.domain.tracking import PIXEL, HitKind
from shared.campaigns.services.tracking import Hit, read_token, record_hit
from shared.errors import DomainError, Transient

log = logging.getLogger("growthkit.tracking")
_NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def _record(req: https_fn.Request, kind: HitKind) -> str | None:
    """The click's URL, recorded if possible (the token is checked either way)."""
    ua = req.headers.get("User-Agent", "")
    hit = Hit(kind, req.args.get("t", ""), req.method, ua, req.client_ip)
    settings, now = req.settings, req.now()
    key = settings.signing_key.get_secret_value().encode()
    max_age = timedelta(days=settings.click_link_max_age_days)
    url = read_token(hit, key, now, max_age)[2]
    try:
        record_hit(req.store, now, key, hit, max_age)
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
    click is recorded (counted unless a scanner's). A forged link (400) or one older
    than ``click_link_max_age_days`` (409) redirects nowhere: a page for a browser
    (``Accept: text/html``), the usual JSON error for anything else."""
    try:
        url = _record(req, "click")
    except DomainError as err:
        if not req.flask.accept_mimetypes.accept_html:
            raise  # not a browser: the usual JSON error
        return refused("This link cannot be used", err)  # a person: a page, no redirect
    return flask.Response(status=302, headers={"Location": url or "", **_NO_STORE})
