"""Newsletter issues: what staff write and send to confirmed subscribers, the statuses an
issue moves through, whom it reaches, how often a subscriber may get one, and how it is
rendered for a subscriber and for the public archive.

An issue lives at ``companies/{c}/newsletter_issues/{id}`` (written through the staff REST
API); sending writes one recipient per subscriber it selects at
``companies/{c}/newsletter_issues/{id}/recipients/{subscriptionId}``. Its body is Markdown
or HTML with sandboxed template fields (``{{ subscriber.first_name | default("there") }}``,
``{{ company.name }}``): the template rules of campaigns apply
(``shared.campaigns.domain.templates``), and a value filled in is always text, never
markup or a link. The HTML staff write is cleaned to a safe subset (no scripts, styles
sheets, forms or event handlers), since its web version is served from our own domain.

A subscriber's ``frequency`` caps what they get: at most one issue per calendar day,
ISO week or calendar month (UTC) for a daily, weekly or monthly subscriber. The first
issue to start sending in the window takes the subscriber's slot; a later issue in the
same window skips them (recorded as ``skipped``; the archive still has it).
"""

import html
import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import nh3
from markdown_it import MarkdownIt
from msgspec import Struct
from pydantic import ConfigDict, Field, field_validator

from shared.campaigns.domain.keys import issue_path
from shared.campaigns.domain.templates import (
    Rendered,
    context_fields,
    render_message,
    template_error,
)
from shared.campaigns.domain.tracking import Spans, staff_links
from shared.domain.common import ONE_LINE, DeferredModel, DocumentId, Email, StoredModel, as_utc
from shared.domain.newsletters import MAX_TOPICS, Frequency, SubscriptionStatus, Topic
from shared.errors import Refused
from shared.staff_api.domain.edits import EditModel

__all__ = ["issue_path"]

ARCHIVE_LIMIT = 50
# The HTML staff may write: text structure, links and images; nothing that runs or posts.
ALLOWED_TAGS = frozenset(
    {"a", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "i", "img"}
    | {"li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul"}
)
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


class IssueStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class BodyFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"


def _valid_template(value: str) -> str:
    problem = template_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class IssueFields(EditModel):
    """What staff write through the staff REST API; the status is not among them."""

    subject: Annotated[str, Field(max_length=300), ONE_LINE] = ""
    body: str = Field(default="", max_length=20_000)
    format: BodyFormat = BodyFormat.MARKDOWN
    # Subscribers of any of these topics get it (none: every confirmed subscriber).
    topics: list[Topic] = Field(default=[], max_length=MAX_TOPICS)
    send_at: datetime | None = None  # for ``schedule``
    archivable: bool = False  # shown on the public archive page once sent

    _checked = field_validator("subject", "body")(classmethod(lambda cls, v: _valid_template(v)))
    _aware = field_validator("send_at")(
        classmethod(lambda cls, v: as_utc(v) if v is not None else None)
    )


class NewsletterIssue(StoredModel, IssueFields):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str
    status: IssueStatus = IssueStatus.DRAFT
    status_reason: str | None = None
    stats: dict[str, int] = {}
    # Sending, as campaigns do it: each send starts a ``run`` of chained batches; one
    # batch at a time holds the lease.
    run: int = 0
    materialized: bool = False
    batch_lease: dict[str, Any] | None = None
    started_at: datetime | None = None  # its time decides the frequency windows
    completed_at: datetime | None = None
    source_content_id: str | None = None  # an e-mail content item sent as this issue


IssueAction = Literal["send", "schedule", "unschedule", "cancel"]
TRANSITIONS: dict[str, tuple[frozenset[IssueStatus], IssueStatus]] = {
    "send": (frozenset({IssueStatus.DRAFT, IssueStatus.SCHEDULED}), IssueStatus.SENDING),
    "schedule": (frozenset({IssueStatus.DRAFT}), IssueStatus.SCHEDULED),
    "unschedule": (frozenset({IssueStatus.SCHEDULED}), IssueStatus.DRAFT),
    "cancel": (
        frozenset({IssueStatus.DRAFT, IssueStatus.SCHEDULED, IssueStatus.SENDING}),
        IssueStatus.CANCELLED,
    ),
}


def transition(status: IssueStatus, action: str) -> IssueStatus:
    """The status ``action`` leads to from ``status``; Refused (409) when it cannot."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        allowed = sorted(s.value for s in sources)
        raise Refused(
            f"A {status.value} issue cannot {action}.",
            {"status": status.value, "allowed_from": allowed},
        )
    return target


class IssueRequest(DeferredModel):
    """A POST to the ``newsletters`` function: a status action, or a ``preview`` of the
    issue as one subscriber (``email``) or the archive (no ``email``) would see it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    action: Literal[IssueAction, "preview"]
    issue_id: DocumentId
    company_id: str | None = Field(default=None, max_length=200)
    email: Email | None = None


def issue_editable(_staff: object, issue: dict[str, Any]) -> None:
    """The staff API's write guard: an issue is not changed while it is being sent."""
    if issue.get("status") == IssueStatus.SENDING.value:
        raise Refused("The issue is being sent; cancel it before changing it.")


def issue_deletable(_staff: object, issue: dict[str, Any]) -> None:
    """Only drafts go: an issue that was sent keeps its recipients and figures."""
    if issue.get("status", IssueStatus.DRAFT.value) != IssueStatus.DRAFT.value:
        raise Refused("Only draft issues can be deleted; cancel it instead.")


def recipients_collection(company_id: str, issue_id: str) -> str:
    return f"{issue_path(company_id, issue_id)}/recipients"


def issue_send_key(company_id: str, issue_id: str, subscription_id: str) -> str:
    """The idempotency key of an issue's mail to a subscriber."""
    return f"newsletter:{company_id}:{issue_id}:{subscription_id}"


def not_reached(issue_topics: list[str], subscription: Mapping[str, Any]) -> str | None:
    """Why the issue does not go to this subscription, or None when it does: only
    confirmed subscriptions, and of one of the issue's topics (a subscriber who chose no
    topic gets every issue; an issue without topics goes to every subscriber)."""
    if subscription.get("status") != SubscriptionStatus.ACTIVE.value:
        return f"subscription {subscription.get('status') or 'unknown'}"
    if not isinstance(subscription.get("confirmed_at"), datetime):
        return "subscription never confirmed"
    theirs = subscription.get("topics") or []
    if issue_topics and theirs and not set(issue_topics) & set(theirs):
        return "not subscribed to the issue's topics"
    return None


def subscriber_as_person(subscription: Mapping[str, Any]) -> dict[str, Any]:
    """A subscription as the consent rule (``shared.domain.consent.send_refusal``) reads a
    person: its confirmed double opt-in is consent to this newsletter by e-mail, with
    when and from where it was given; anything else is none."""
    confirmed = subscription.get("confirmed_at")
    if subscription.get("status") != SubscriptionStatus.ACTIVE.value or not confirmed:
        return {"do_not_contact": subscription.get("do_not_contact", False)}
    evidence = {"source": "newsletter_double_opt_in", "at": confirmed}
    consent = {"given": True, **evidence, "ip": subscription.get("confirmed_ip")}
    return {"consent": consent, "do_not_contact": subscription.get("do_not_contact", False)}


def frequency_window(frequency: str, at: datetime) -> str:
    """The calendar window (UTC) a subscriber of ``frequency`` gets one issue in."""
    at = as_utc(at)
    if frequency == Frequency.DAILY.value:
        return at.date().isoformat()
    if frequency == Frequency.MONTHLY.value:
        return f"{at.year}-{at.month:02d}"
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def slot_path(company_id: str, subscription_id: str, window: str) -> str:
    """The subscriber's slot in a frequency window: created by the first issue to go."""
    return f"companies/{company_id}/newsletter_slots/{subscription_id}-{window}"


def issue_context(
    subscription: Mapping[str, Any] | None, company: Mapping[str, Any]
) -> dict[str, Any]:
    """What a template sees: ``subscriber`` (``name``, ``first_name``, ``last_name``,
    ``email``; nothing at all for the archive) and ``company``."""
    person: dict[str, Any] = {}
    if subscription is not None:
        name = str(subscription.get("name") or "").strip()
        person = {"email": subscription.get("email"), "name": name}
        if name:
            person["first_name"] = name.split(" ")[0]
            person["last_name"] = name.split(" ", 1)[1] if " " in name else ""
    return {
        "subscriber": context_fields(person, "subscriber"),
        "company": context_fields(company, "company"),
    }


class RenderedIssue(Struct, frozen=True):
    """An issue for one reader: the text part (``filled``: its spans that are values),
    the HTML body (no pixel, footer or tracking yet), and the URLs of that HTML staff
    wrote (only these are tracked)."""

    subject: str
    text: str
    html: str
    html_links: tuple[str, ...]
    filled: Spans | None


def render_issue(
    subject: str, body: str, body_format: str, context: Mapping[str, Any]
) -> RenderedIssue:
    """The issue rendered for ``context``.

    Raises:
        TemplateProblem: a field is missing (use ``default``) or the template fails.
    """
    rendered = render_message(subject, body, context)
    staff_urls = [rendered.body[s:e] for s, e in staff_links(rendered.body, rendered.filled)]
    if body_format == BodyFormat.HTML.value:
        page = nh3.clean(
            _escape_filled(rendered, html.escape),
            tags=set(ALLOWED_TAGS),
            attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
            url_schemes={"http", "https", "mailto"},
        )
        links = tuple(html.unescape(u) for u in staff_urls)
        # The text part has no links: they were attributes of the HTML.
        return RenderedIssue(rendered.subject, _text_of(page), page, links, None)
    markdown = MarkdownIt("commonmark", {"html": False})
    page = markdown.render(_escape_filled(rendered, _markdown_escape))
    links = tuple(markdown.normalizeLink(u) for u in staff_urls)
    return RenderedIssue(rendered.subject, rendered.body, page, links, rendered.filled)


def _escape_filled(rendered: Rendered, escape: Any) -> str:
    """The body with each value escaped, so that no value becomes markup or a link."""
    parts, last = [], 0
    for start, end in rendered.filled:
        parts += [rendered.body[last:start], escape(rendered.body[start:end])]
        last = end
    return "".join([*parts, rendered.body[last:]])


def _markdown_escape(text: str) -> str:
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def _text_of(page: str) -> str:
    """A plain-text version of cleaned HTML: its text, a line per block."""
    blocks = re.sub(r"(?i)<br\s*/?>|</(p|h\d|li|tr|blockquote|pre)>", "\n", page)
    text = html.unescape(nh3.clean(blocks, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
