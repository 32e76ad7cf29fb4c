"""The local mailbox's web page and JSON API, as Mailpit shows mail.

Pages (no script anywhere: every page is served with a Content-Security-Policy that
allows none):

- ``/``: every e-mail, newest first (from, to, subject, when), then every SMS the SMS
  source reports (the Twilio stand-in's messages);
- ``/messages/{id}``: one e-mail: its headers, its HTML part in a sandboxed iframe, its
  text part, a link to its raw source;
- ``/messages/{id}/html``: the HTML part alone, under ``Content-Security-Policy: sandbox``
  with nothing loaded from elsewhere (no script, no remote image, no tracking pixel);
- ``/messages/{id}/raw``: the message as it came over SMTP.

JSON: ``GET /api/messages`` (summaries, newest first), ``GET /api/messages/{id}``
(headers, ``text``, ``html``, envelope), ``GET /api/messages/{id}/raw``,
``DELETE /api/messages`` (forget every e-mail), ``GET /api/sms``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from html import escape
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from localcloud.mailbox.store import Mail, MailStore

log = logging.getLogger("localcloud.mailbox.web")

SmsSource = Callable[[], list[dict[str, Any]]]
Answer = tuple[int, str, bytes, dict[str, str]]

PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; img-src data:"
# The message's own HTML: a unique origin, no script, nothing fetched from anywhere.
PART_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}th{background:#f4f4f4}
iframe{width:100%;height:28rem;border:1px solid #ccc}pre{white-space:pre-wrap;
background:#f8f8f8;padding:.7rem}.empty{color:#777}"""


def json_answer(status: int, value: Any) -> Answer:
    body = json.dumps(value, indent=1).encode()
    return status, "application/json", body, {}


def page(title: str, body: str) -> Answer:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return 200, "text/html; charset=utf-8", html.encode(), {"Content-Security-Policy": PAGE_POLICY}


def _cells(values: list[str]) -> str:
    return "".join(f"<td>{value}</td>" for value in values)


def _table(head: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    heading = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><tr>{heading}</tr>{''.join(rows)}</table>"


def list_page(store: MailStore, sms: SmsSource | None) -> Answer:
    rows = [
        "<tr>"
        + _cells(
            [
                escape(m.header("From")),
                escape(m.header("To")),
                f'<a href="/messages/{m.id}">{escape(m.header("Subject") or "(no subject)")}</a>',
                escape(m.received_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
            ]
        )
        + "</tr>"
        for m in store.all()
    ]
    texts = [
        "<tr>" + _cells([escape(str(s.get(k) or "")) for k in SMS_COLUMNS]) + "</tr>"
        for s in sms_messages(sms)
    ]
    body = (
        "<h1>Local mailbox</h1><h2>E-mail</h2>"
        + _table(["From", "To", "Subject", "Received"], rows, "No e-mail yet.")
        + "<h2>SMS</h2>"
        + _table(["From", "To", "Body", "Status", "Sent"], texts, "No SMS yet.")
    )
    return page("Local mailbox", body)


SMS_COLUMNS = ("from", "to", "body", "status", "date_created")


def sms_messages(sms: SmsSource | None) -> list[dict[str, Any]]:
    """The SMS source's messages, newest first (it lists them oldest first)."""
    return list(reversed(sms())) if sms is not None else []


def message_page(mail: Mail) -> Answer:
    headers = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
        for name, value in mail.headers()
    )
    html, text = mail.part("html"), mail.part("plain")
    frame = (
        f'<iframe sandbox="" src="/messages/{mail.id}/html" title="HTML part"></iframe>'
        if html is not None
        else '<p class="empty">No HTML part.</p>'
    )
    shown = f"<pre>{escape(text)}</pre>" if text is not None else '<p class="empty">No text.</p>'
    body = (
        f'<p><a href="/">&larr; All messages</a> · <a href="/messages/{mail.id}/raw">Raw '
        f"source</a></p><h1>{escape(mail.header('Subject') or '(no subject)')}</h1>"
        f"<h2>Headers</h2><table>{headers}</table><h2>HTML</h2>{frame}<h2>Text</h2>{shown}"
    )
    return page(mail.header("Subject") or "Message", body)


def html_part(mail: Mail) -> Answer:
    html = mail.part("html") or ""
    headers = {"Content-Security-Policy": PART_POLICY, "X-Content-Type-Options": "nosniff"}
    return 200, "text/html; charset=utf-8", html.encode(), headers


def raw(mail: Mail) -> Answer:
    return 200, "text/plain; charset=utf-8", mail.raw, {"X-Content-Type-Options": "nosniff"}


def not_found(what: str) -> Answer:
    return json_answer(404, {"error": f"no {what}"})


def route(store: MailStore, sms: SmsSource | None, method: str, path: str) -> Answer:
    """The answer to one request."""
    parts = [p for p in path.split("/") if p]
    if method == "DELETE" and parts == ["api", "messages"]:
        store.clear()
        return json_answer(200, {"deleted": True})
    if method not in ("GET", "HEAD"):
        return json_answer(405, {"error": f"{method} is not allowed here"})
    if not parts:
        return list_page(store, sms)
    if parts == ["api", "messages"]:
        return json_answer(200, {"messages": [m.summary() for m in store.all()]})
    if parts == ["api", "sms"]:
        return json_answer(200, {"messages": sms_messages(sms)})
    api = parts[0] == "api"
    rest = parts[1:] if api else parts
    if len(rest) < 2 or rest[0] != "messages":
        return not_found(f"page {path}")
    mail = store.get(rest[1])
    if mail is None or len(rest) > 3:
        return not_found(f"message {rest[1]}")
    view = rest[2] if len(rest) == 3 else ""
    return _view(mail, api, view)


def _view(mail: Mail, api: bool, view: str) -> Answer:
    if view == "raw":
        return raw(mail)
    if api:
        return json_answer(200, mail.details()) if not view else not_found(f"view {view}")
    if view == "html":
        return html_part(mail)
    return message_page(mail) if not view else not_found(f"view {view}")


def handler(store: MailStore, sms: Callable[[], SmsSource | None]) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler of the page; ``sms`` gives the current SMS source (it may be
    attached after the server started)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            try:
                status, kind, body, extra = route(
                    store, sms(), self.command, urlsplit(self.path).path
                )
            except Exception:
                log.exception("%s %s failed", self.command, self.path)
                status, kind, body, extra = json_answer(500, {"error": "the mailbox failed"})
            self.send_response(status)
            for name, value in {"Content-Type": kind, **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_DELETE = do_POST = _serve  # noqa: N815 - http.server API

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
