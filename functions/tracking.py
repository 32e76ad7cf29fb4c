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
import functions_framework

from functions._http import client_ip, respond
from functions._pages import refused
from shared import bootstrap
from shared.domain.tracking import PIXEL, HitKind
from shared.errors import DomainError, InvalidInput, Transient
from shared.services.tracking import Hit, read_token, record_hit
from shared.settings import get_settings

log = logging.getLogger("growthkit.tracking")
_NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def _hit(request: flask.Request, kind: HitKind) -> Hit:
    if request.method not in ("GET", "HEAD"):
        raise InvalidInput("Tracking links are fetched with GET.")
    return Hit(
        kind,
        request.args.get("t", ""),
        request.method,
        request.headers.get("User-Agent", ""),
        client_ip(request),
    )


def _record(hit: Hit) -> str | None:
    """The click's URL, recorded if possible (the token is checked either way)."""
    settings, now = get_settings(), bootstrap.clock.now()
    key = settings.signing_key.get_secret_value().encode()
    max_age = timedelta(days=settings.click_link_max_age_days)
    url = read_token(hit, key, now, max_age)[2]
    try:
        record_hit(bootstrap.document_store(), now, key, hit, max_age)
    except Transient:
        log.warning("%s not recorded (Firestore unavailable)", hit.kind, exc_info=True)
    return url


def _open(request: flask.Request) -> flask.Response:
    _record(_hit(request, "open"))
    return flask.Response(PIXEL, 200, {"Content-Type": "image/gif", **_NO_STORE})


def _click(request: flask.Request) -> flask.Response:
    try:
        url = _record(_hit(request, "click"))
    except DomainError as err:
        if not request.accept_mimetypes.accept_html:
            raise  # not a browser: the usual JSON error
        return refused("This link cannot be used", err)  # a person: a page, no redirect
    return flask.Response(status=302, headers={"Location": url or "", **_NO_STORE})


@functions_framework.http
def track_open(request: flask.Request) -> flask.Response:
    """GET ``?t=<token>``: a 1x1 GIF; the open is recorded (counted unless a machine's)."""
    return respond(lambda: _open(request))


@functions_framework.http
def track_click(request: flask.Request) -> flask.Response:
    """GET ``?t=<token>``: 302 to the link's original URL (signed into the token); the
    click is recorded (counted unless a scanner's). A forged link (400) or one older
    than ``click_link_max_age_days`` (409) redirects nowhere: a page for a browser
    (``Accept: text/html``), the usual JSON error for anything else."""
    return respond(lambda: _click(request))
