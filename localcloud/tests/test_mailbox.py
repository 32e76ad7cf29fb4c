"""The local mailbox: what the standard library's smtplib sends arrives, as a relay would
take it (STARTTLS, implicit TLS, AUTH, deferrals and refusals), and shows on the page and
in the JSON API over plain HTTP."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from support import free_port

from localcloud.binding import PortInUse
from localcloud.mailbox import Mailbox, start_mailbox
from localcloud.mailbox.testing import self_signed_certificate, server_context

UNSUBSCRIBE = "<https://example.com/u/abc>"


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def api(mailbox: Mailbox, path: str) -> Any:
    status, _, body = get(mailbox.url + path)
    assert status == 200, body
    return json.loads(body)


def email(subject: str = "Your quote", html: str = "<p>Hello <b>Jane</b></p>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Acme <hello@acme.example>"
    message["To"] = "jane@example.com"
    message["Subject"] = subject
    message["List-Unsubscribe"] = UNSUBSCRIBE
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("Hello Jane")
    message.add_alternative(html, subtype="html")
    return message


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    started = start_mailbox()
    yield started
    started.stop()


def send(mailbox: Mailbox, message: EmailMessage) -> None:
    with smtplib.SMTP(mailbox.host, mailbox.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def test_a_message_shows_in_the_api_with_headers_and_both_parts(mailbox: Mailbox) -> None:
    send(mailbox, email("First"))
    send(mailbox, email("Second"))
    listed = api(mailbox, "/api/messages")["messages"]
    assert ["Second", "First"] == [m["subject"] for m in listed]
    shown = api(mailbox, f"/api/messages/{listed[0]['id']}")
    headers = dict(shown["headers"])
    assert (UNSUBSCRIBE, "List-Unsubscribe=One-Click") == (
        headers["List-Unsubscribe"],
        headers["List-Unsubscribe-Post"],
    )
    assert ("Hello Jane\n", "<p>Hello <b>Jane</b></p>\n") == (shown["text"], shown["html"])
    assert {"mail_from": "hello@acme.example", "rcpt_tos": ["jane@example.com"]} == (
        shown["envelope"]
    )
    status, _, source = get(f"{mailbox.url}/api/messages/{listed[0]['id']}/raw")
    assert (200, True) == (status, b"Subject: Second" in source)


def test_the_page_lists_messages_and_shows_html_without_any_script(mailbox: Mailbox) -> None:
    """The list and the message page carry no script and allow none; the HTML part is
    only in a sandboxed iframe, itself served under a sandboxing policy."""
    send(mailbox, email("<Quote> & more", html='<p>Hi</p><script>alert("x")</script>'))
    (mail,) = mailbox.messages()
    status, headers, listing = get(mailbox.url + "/")
    assert (200, True) == (status, b"&lt;Quote&gt; &amp; more" in listing)
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    _, headers, shown = get(f"{mailbox.url}/messages/{mail.id}")
    assert b'<iframe sandbox="" src="/messages/1/html"' in shown
    assert (b"<script" not in shown, b"List-Unsubscribe" in shown) == (True, True)
    _, part_headers, part = get(f"{mailbox.url}/messages/{mail.id}/html")
    assert part_headers["Content-Security-Policy"].startswith("sandbox;")
    assert b"<script>" in part  # the part as sent: the policy, not an edit, disarms it


def test_starttls_and_auth_as_a_relay_requires_them(tmp_path: Path) -> None:
    """AUTH is not offered before STARTTLS; after it, only the right password logs in."""
    cert, key = self_signed_certificate(tmp_path)
    mailbox = start_mailbox(tls=server_context(cert, key), users={"app": "s3cret"})
    trusted = ssl.create_default_context(cafile=cert)
    try:
        with smtplib.SMTP(mailbox.host, mailbox.smtp_port, timeout=10) as smtp:
            smtp.ehlo()
            assert (True, False) == (smtp.has_extn("starttls"), smtp.has_extn("auth"))
            with pytest.raises(smtplib.SMTPSenderRefused):
                smtp.send_message(email())
        with smtplib.SMTP(mailbox.host, mailbox.smtp_port, timeout=10) as smtp:
            smtp.starttls(context=trusted)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("app", "guess")
            smtp.login("app", "s3cret")
            smtp.send_message(email())
        (mail,) = mailbox.messages()
        assert (True, "app") == (mail.tls, mail.auth_user)
    finally:
        mailbox.stop()


def test_implicit_tls_from_the_first_byte(tmp_path: Path) -> None:
    """TLS from the first byte counts as TLS for AUTH (aiosmtpd alone would not offer it)."""
    cert, key = self_signed_certificate(tmp_path)
    mailbox = start_mailbox(tls=server_context(cert, key), implicit_tls=True, users={"a": "b"})
    try:
        context = ssl.create_default_context(cafile=cert)
        with smtplib.SMTP_SSL(mailbox.host, mailbox.smtp_port, context=context, timeout=10) as s:
            s.login("a", "b")
            s.send_message(email())
        assert [(True, "a")] == [(m.tls, m.auth_user) for m in mailbox.messages()]
    finally:
        mailbox.stop()


def test_deferrals_and_refusals_as_a_relay_answers_them(mailbox: Mailbox) -> None:
    """A queued 451 defers the next message only; a refused address is refused for good."""
    mailbox.fail("451 4.3.0 Try again later")
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(mailbox, email())
    send(mailbox, email())
    mailbox.refuse("jane@example.com")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(mailbox, email())
    assert (451, {"jane@example.com": (550, b"5.1.1 No such user here")}, 1) == (
        deferred.value.smtp_code,
        refused.value.recipients,
        len(mailbox.messages()),
    )
    with pytest.raises(ValueError, match="not a 4xx or 5xx"):
        mailbox.fail("250 OK")


def test_sms_show_on_the_same_page(mailbox: Mailbox) -> None:
    """Whatever the SMS source lists, newest first (the Twilio stand-in's messages)."""
    sms = [
        {"from": "+15005550006", "to": "+15551230001", "body": "Older", "status": "delivered"},
        {"from": "+15005550006", "to": "+15551230002", "body": "Newer <3", "status": "sent"},
    ]
    mailbox.sms = lambda: sms
    assert ["Newer <3", "Older"] == [s["body"] for s in api(mailbox, "/api/sms")["messages"]]
    _, _, page = get(mailbox.url + "/")
    assert page.index(b"Newer &lt;3") < page.index(b"Older")


def test_clearing_and_unknown_paths(mailbox: Mailbox) -> None:
    send(mailbox, email())
    assert 200 == get(mailbox.url + "/api/messages", "DELETE")[0]
    assert ([], 404, 404, 405) == (
        api(mailbox, "/api/messages")["messages"],
        get(mailbox.url + "/messages/1")[0],
        get(mailbox.url + "/nothing/here")[0],
        get(mailbox.url + "/api/messages", "POST")[0],
    )


def test_a_port_in_use_is_refused_before_anything_starts(mailbox: Mailbox) -> None:
    with pytest.raises(PortInUse, match="SMTP"):
        start_mailbox(smtp_port=mailbox.smtp_port)
    with pytest.raises(PortInUse, match="mailbox page"):
        start_mailbox(smtp_port=free_port(), http_port=mailbox.http_port)
