"""What every marketing message carries: for e-mail the sender's postal address, an
unsubscribe link and the ``List-Unsubscribe`` headers (RFC 2369, one-click RFC 8058), with
links tracked and an HTML part holding the open pixel; for SMS the sender's name and how
to opt out.
"""

from __future__ import annotations

import html
from datetime import datetime

from msgspec import Struct

from shared.campaigns.domain.tracking import (
    LinkSigner,
    Spans,
    rewrite_links,
    text_to_html,
    tracked_hrefs,
)

SMS_OPT_OUT = "Reply STOP to opt out."
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


class ListMail(Struct, frozen=True):
    """What a newsletter issue's mail has of its own: its HTML body (cleaned, untracked;
    ``html_links``: the URLs in it staff wrote, the only ones tracked), the list's own
    unsubscribe link, and why the reader gets it (said in the footer)."""

    html: str
    html_links: tuple[str, ...]
    unsubscribe_url: str
    why: str


class EmailContent(Struct, frozen=True):
    body: str
    html: str
    headers: tuple[tuple[str, str], ...]


def unsubscribe_headers(url: str) -> tuple[tuple[str, str], ...]:
    """``List-Unsubscribe`` with the https link and the one-click marker."""
    return (("List-Unsubscribe", f"<{url}>"), ONE_CLICK)


def email_footer(
    company_name: str, postal_address: str, unsubscribe_url: str, why: str = ""
) -> str:
    why = why or f"You receive this because you are in contact with {company_name}."
    return (
        f"\n\n--\n{company_name}\n{postal_address.strip()}\n{why} Unsubscribe: {unsubscribe_url}\n"
    )


def _html_footer(company_name: str, postal_address: str, unsubscribe_url: str) -> str:
    address = html.escape(postal_address.strip()).replace("\n", "<br>")
    url = html.escape(unsubscribe_url)
    return (
        f'<hr><p style="font-size:12px;color:#666">{html.escape(company_name)}<br>{address}'
        f'<br><a href="{url}">Unsubscribe</a></p>'
    )


def marketing_email(
    body: str,
    *,
    links: LinkSigner,
    company_id: str,
    company_name: str,
    postal_address: str,
    send_id: str,
    address: str,
    filled: Spans | None,
    issued: datetime,
    list_mail: ListMail | None = None,
) -> EmailContent:
    """The text and HTML parts and headers of a marketing e-mail: the links staff wrote
    through ``track_click`` (issued at ``issued``), what ``filled`` spans of the body (a
    recipient's values) as plain text, the pixel, the footer, and the unsubscribe
    headers. The footer's own link is not tracked (a scanner following it only reaches a
    confirmation page). A newsletter's mail (``list_mail``) has its own HTML body and
    unsubscribe link instead."""
    unsubscribe = links.unsubscribe_url(company_id, "email", address, send_id)
    why = ""
    if list_mail is not None:
        unsubscribe, why = list_mail.unsubscribe_url, list_mail.why

    def tracked(url: str) -> str:
        return links.click_url(company_id, send_id, url, issued)

    text = rewrite_links(body, tracked, filled)
    text += email_footer(company_name, postal_address, unsubscribe, why)
    pixel = links.open_url(company_id, send_id)
    if list_mail is None:
        page = text_to_html(body, tracked, pixel, filled)
    else:
        page = _list_page(tracked_hrefs(list_mail.html, tracked, list_mail.html_links), pixel)
    page = page.replace(
        "</body>", _html_footer(company_name, postal_address, unsubscribe) + "</body>"
    )
    return EmailContent(text, page, unsubscribe_headers(unsubscribe))


def _list_page(body: str, pixel_url: str) -> str:
    pixel = f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="">'
    return f"<!doctype html>\n<html><body>\n{body}\n{pixel}</body></html>\n"


def marketing_sms(body: str, company_name: str) -> str:
    """Named sender first, opt-out instructions last (unless the text already has them)."""
    text = body.strip()
    if company_name and not text.lower().startswith(company_name.lower()):
        text = f"{company_name}: {text}"
    if "STOP" not in text:
        text = f"{text} {SMS_OPT_OUT}"
    return text
