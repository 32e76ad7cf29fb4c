"""Content and its publication: per-platform states and the content's overall status.

A content item (``companies/{c}/content/{id}``) is published to one or more platforms.
Each platform has its own state (pending, published or failed, with the URL, the last
error and the number of attempts), so a retry only touches the platforms still pending and
a platform once published is never published again. ``unknown`` is a platform whose post
may or may not exist (the request was sent, no answer came, and the platform could not be
asked): it is never posted again by itself; staff check and publish it again if need be.

While a request that may post is out, the state says so (``sent_at``, and the run's
``lease_until``), so a run that died mid-request is followed by a lookup, not a repost;
``retry_at`` is when a platform that rate-limited us may be called again.
"""

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from msgspec import Struct
from pydantic import Field, field_validator

from shared.domain.common import DeferredModel, DocumentId, RequestModel, StoredModel, as_utc

MAX_PLATFORMS = 10
MAX_ATTEMPTS = 8  # below the queue's 10, so the last word is ours, recorded as "failed"
MAX_AHEAD = timedelta(days=365)
RECONNECT = "reconnect"
UNKNOWN = "unknown"
# How long a run may hold a request in flight: past it, the run is taken for dead (above
# run_task's 300 s timeout, as the task lease is).
IN_FLIGHT = timedelta(seconds=330)
_PLATFORM = re.compile(r"^[a-z0-9_-]{1,30}$")


class ContentType(StrEnum):
    BLOG = "blog"
    SOCIAL = "social"
    EMAIL = "email"


class ContentStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    FAILED = "failed"


class PlatformStatus(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"


class PlatformState(DeferredModel):
    status: PlatformStatus = PlatformStatus.PENDING
    url: str | None = None
    error: str | None = None
    attempts: int = 0
    published_at: datetime | None = None
    external_id: str | None = None
    retry_at: datetime | None = None  # a rate limit: not called again before this
    sent_at: datetime | None = None  # a request that may post went out; no outcome yet
    lease_until: datetime | None = None  # the run that sent it is alive until then


class Content(StoredModel):
    id: str
    title: str = ""
    type: ContentType = ContentType.BLOG
    body: str = ""
    status: ContentStatus = ContentStatus.DRAFT
    platforms: list[str] = []
    platform_status: dict[str, PlatformState] = {}
    url: str | None = None
    tags: list[str] = []
    image_url: str | None = None
    scheduled_at: datetime | None = None
    published_at: datetime | None = None
    failure_reason: str | None = None
    # The posting-queue slot it was put in (``shared.domain.posting_queue``), if any.
    queue_slot: str | None = None

    def state(self, platform: str) -> PlatformState:
        return self.platform_status.get(platform) or PlatformState()

    def due_at(self, scheduled_at: datetime) -> bool:
        """Whether a task scheduled for ``scheduled_at`` is still this content's task (it
        may have been rescheduled, unscheduled or published since)."""
        return (
            self.status is ContentStatus.SCHEDULED
            and self.scheduled_at is not None
            and as_utc(self.scheduled_at) == as_utc(scheduled_at)
        )


def platform_names(value: list[str] | None) -> list[str] | None:
    """Platform names as requests give them: trimmed, lower-cased, once each, 1 to 10."""
    if value is None:
        return None
    unique = list(dict.fromkeys(p.strip().lower() for p in value))
    if not unique or len(unique) > MAX_PLATFORMS:
        raise ValueError(f"give 1 to {MAX_PLATFORMS} platforms")
    if any(not _PLATFORM.match(p) for p in unique):
        raise ValueError("platforms are short lower-case names like 'blog' or 'linkedin'")
    return unique


class PublishRequest(RequestModel):
    """Staff ask to publish a content item now or at ``scheduled_at``."""

    content_id: DocumentId
    company_id: str | None = Field(default=None, max_length=200)
    scheduled_at: datetime | None = None
    platforms: list[str] | None = None

    _platforms = field_validator("platforms")(classmethod(lambda cls, v: platform_names(v)))
    _utc = field_validator("scheduled_at")(classmethod(lambda cls, v: v and as_utc(v)))


class Post(Struct, frozen=True):
    """What a publisher is asked to publish; ``idempotency_key`` is the same on retries."""

    company_id: str
    content_id: str
    platform: str
    title: str
    body: str
    type: str
    tags: tuple[str, ...]
    idempotency_key: str
    image_url: str | None = None


class Receipt(Struct, frozen=True):
    url: str
    external_id: str


def content_path(company_id: str, content_id: str) -> str:
    return f"companies/{company_id}/content/{content_id}"


def ledger_path(company_id: str, content_id: str, platform: str) -> str:
    """Our record that ``platform`` has this content: written with its published state."""
    return f"companies/{company_id}/publications/{content_id}-{platform}"


def publication_key(content_id: str, scheduled_at: datetime) -> str:
    """The scheduling key: one publish task per content item and time."""
    return f"publish:{content_id}:{as_utc(scheduled_at).isoformat()}"


def post_for(company_id: str, content: Content, platform: str) -> Post:
    return Post(
        company_id,
        content.id,
        platform,
        content.title,
        content.body,
        content.type.value,
        tuple(content.tags),
        f"{company_id}:{content.id}:{platform}",
        content.image_url,
    )


def prepared(content: Content, platforms: list[str], when: datetime, now: datetime) -> Content:
    """The content scheduled for ``when``: platforms not yet published start over as pending."""
    states = {
        p: content.state(p)
        if content.state(p).status is PlatformStatus.PUBLISHED
        else PlatformState()
        for p in platforms
    }
    return content.model_copy(
        update={
            "platforms": platforms,
            "platform_status": states,
            "scheduled_at": as_utc(when),
            "failure_reason": None,
            "updated_at": now,
            "status": overall_status(platforms, states),
        }
    )


def overall_status(platforms: list[str], states: dict[str, PlatformState]) -> ContentStatus:
    """Published when every platform is; failed when none is pending and one failed (or
    is unknown)."""
    statuses = [(states.get(p) or PlatformState()).status for p in platforms]
    if all(s is PlatformStatus.PUBLISHED for s in statuses):
        return ContentStatus.PUBLISHED
    if PlatformStatus.PENDING in statuses:
        return ContentStatus.SCHEDULED
    return ContentStatus.FAILED


def with_platform(content: Content, platform: str, state: PlatformState, now: datetime) -> Content:
    """The content after one platform's attempt, with its overall status recomputed."""
    return with_states(content, {**content.platform_status, platform: state}, now)


def failure_reason(platforms: list[str], states: dict[str, PlatformState]) -> str:
    """Why content that did not publish everywhere failed: ``reconnect`` when an account
    must be reconnected, ``unknown`` when a post must be checked, else the first failed
    platform's error."""
    settled = [(p, states[p]) for p in platforms if p in states]
    if any(s.status is PlatformStatus.FAILED and s.error == RECONNECT for _, s in settled):
        return RECONNECT
    if any(s.status is PlatformStatus.UNKNOWN for _, s in settled):
        return UNKNOWN
    failed = [f"{p}: {s.error}" for p, s in settled if s.status is PlatformStatus.FAILED]
    return next(iter(failed), "error")


def with_states(content: Content, states: dict[str, PlatformState], now: datetime) -> Content:
    """The content with these platform states, its overall status recomputed."""
    status = overall_status(content.platforms, states)
    reason = None
    if status is ContentStatus.FAILED:
        reason = failure_reason(content.platforms, states)
    urls = [states[p].url for p in content.platforms if p in states and states[p].url]
    return content.model_copy(
        update={
            "platform_status": states,
            "status": status,
            "failure_reason": reason,
            "url": content.url or next(iter(urls), None),
            "published_at": content.published_at
            or (now if status is ContentStatus.PUBLISHED else None),
            "updated_at": now,
        }
    )


def state_from_ledger(data: dict[str, Any]) -> PlatformState:
    """The published state a ledger record remembers."""
    return PlatformState(
        status=PlatformStatus.PUBLISHED,
        url=data.get("url"),
        attempts=int(data.get("attempts", 1)),
        published_at=data.get("published_at"),
    )


def stored_fields(content: Content) -> dict[str, Any]:
    """The fields publication owns: written as an update so staff edits are kept."""
    return content.model_dump(
        include={
            "platforms",
            "platform_status",
            "status",
            "failure_reason",
            "url",
            "scheduled_at",
            "published_at",
            "updated_at",
        },
        mode="python",
    )
