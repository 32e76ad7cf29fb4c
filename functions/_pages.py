"""The small HTML pages the public links in mails open (unsubscribe, newsletter
confirmation): escaped, not indexed, not cached, and a page for a refused link too."""

from __future__ import annotations

import html
from typing import Any

import flask

from functions._http import STATUS
from shared.errors import DomainError

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
</head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">
<h1>{title}</h1><p>{text}</p>{form}</body></html>
"""


def page(title: str, text: str, form: str = "", status: int = 200) -> flask.Response:
    """A page; ``text`` and ``form`` are HTML the caller has escaped, ``title`` is text."""
    body = _PAGE.format(title=html.escape(title), text=text, form=form)
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return flask.Response(body, status, headers)


def button(label: str, fields: dict[str, str]) -> str:
    """A form POSTing ``fields`` (hidden) to the page's own address."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return f'<form method="post">{hidden}<button type="submit">{html.escape(label)}</button></form>'


def refused(title: str, err: DomainError) -> flask.Response:
    """The page of a refused link, with the error's status (400 forged, 404 gone, 409
    expired...) and its message."""
    return page(title, html.escape(err.message), status=STATUS[err.code])


def refusal_page(refused_json: flask.Response) -> flask.Response:
    """A JSON refusal as the page a browser's form post shows instead (no script reads
    JSON there): its message and each field's, escaped, with the refusal's status and
    headers (``Retry-After``, ``Allow``...). How to go on is said in words: the browser's
    Back button keeps what the visitor typed."""
    error = _object((refused_json.get_json(silent=True) or {}).get("error"))
    fields = _object(_object(error.get("details")).get("fields"))
    text = html.escape(str(error.get("message") or "The form could not be sent."))
    listed = "".join(
        f"<li>{html.escape(str(name))}: {html.escape(str(message))}</li>"
        for name, message in fields.items()
    )
    after = refused_json.headers.get("Retry-After", "")
    advice = (
        f"Please try again in {_wait_text(int(after))}."
        if after.isdigit()
        else "Go back, correct the form and send it again."
    )
    more = (f"<ul>{listed}</ul>" if listed else "") + f"<p>{advice}</p>"
    shown = page("Your form was not sent", text, more, status=refused_json.status_code)
    kept = {"Content-Type", "Content-Length", "Cache-Control"}
    shown.headers.extend((k, v) for k, v in refused_json.headers.items() if k not in kept)
    return shown


def _wait_text(seconds: int) -> str:
    """A ``Retry-After`` in words: seconds up to a minute and a half, else minutes."""
    return f"{seconds} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
