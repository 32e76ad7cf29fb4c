"""Pure rules of lead intake: spam checks, rate-limit windows, and merging a submission
into a lead without overwriting what must not change (consent, status, first touch)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from msgspec import Struct

from shared.domain.common import (
    next_hour,
    normalize_email,
    search_key,
    seconds_until,
    stable_id,
)
from shared.domain.company import CompanySettings
from shared.domain.counters import allowances
from shared.domain.leads import Consent, Lead, LeadSubmission, Touch, name_parts, split_name

# Custom fields a lead may gather from posts (staff may add more through the API).
MAX_LEAD_CUSTOM_FIELDS = 50


class SpamReason(StrEnum):
    HONEYPOT = "honeypot"
    TOO_FAST = "too_fast"


def spam_reason(sub: LeadSubmission, settings: CompanySettings, now: datetime) -> SpamReason | None:
    """Why a submission looks automated, or None. Rate limits are checked separately."""
    if sub.website:
        return SpamReason.HONEYPOT
    if sub.started_at is not None:
        elapsed = now.timestamp() - sub.started_at / 1000.0
        if elapsed < settings.min_submit_seconds:
            return SpamReason.TOO_FAST
    return None


# The company-wide window is written by every lead; spread over this many documents,
# concurrent leads seldom write the same one (Firestore takes about 1 write/s on each).
COMPANY_SHARDS = 64


class RateWindow(Struct, frozen=True):
    """Counter documents for one window: ``limit`` submissions allowed in it.

    A sharded window splits its limit over ``shards`` documents (``allowances``, adding up
    to the limit), so the limit stays exact: a submission reads and counts in its own
    shard (by a hash of its key), guarded like an unsharded counter; only when that one is
    spent are the others read, for one with room, and it is refused only when every shard
    is spent. Concurrent submissions conflict only when they share a shard.
    """

    doc_id: str
    limit: int
    expires_at: datetime
    shards: int = 1
    frees_at: datetime | None = None  # when the window is over (None: when it expires)

    def retry_after(self, now: datetime) -> int:
        """The seconds a refused submission should wait: until the window is over."""
        return seconds_until(self.frees_at or self.expires_at, now)

    def doc_ids(self) -> list[str]:
        if self.shards == 1:
            return [self.doc_id]
        return [f"{self.doc_id}-{i:02d}" for i in range(self.shards)]

    def shard_of(self, key: str) -> int:
        """The shard ``key``'s submissions count in while it has room (a hash of ``key``)."""
        return int(stable_id(key, length=8), 16) % self.shards

    def own_doc_id(self, key: str) -> str:
        return self.doc_ids()[self.shard_of(key)]

    def has_room(self, count: int, key: str) -> bool:
        """Whether ``key``'s own shard, now at ``count``, may take one more."""
        return count < allowances(self.limit, self.shards)[self.shard_of(key)]

    def pick(self, counts: list[int], key: str) -> int | None:
        """The shard to count ``key``'s submission in, given every shard's count: its own
        if it has room, else the next one that has; None when the window is full."""
        if sum(counts) >= self.limit:
            return None
        room = allowances(self.limit, self.shards)
        start = self.shard_of(key)
        for i in range(self.shards):
            shard = (start + i) % self.shards
            if counts[shard] < room[shard]:
                return shard
        return None


def rate_windows(ip: str, settings: CompanySettings, now: datetime) -> list[RateWindow]:
    """The per-IP hourly window (one document: one visitor cannot make contention) and
    the company's per-minute window (sharded: every lead of the company counts in it)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    minute = now.replace(second=0, microsecond=0)
    return [
        RateWindow(
            f"ip-{stable_id(ip, length=16)}-{hour:%Y%m%d%H}",
            settings.submissions_per_ip_per_hour,
            hour + timedelta(hours=2),
            frees_at=next_hour(now),
        ),
        RateWindow(
            f"all-{minute:%Y%m%d%H%M}",
            settings.submissions_per_company_per_minute,
            minute + timedelta(hours=1),
            COMPANY_SHARDS,
            frees_at=minute + timedelta(minutes=1),
        ),
    ]


def touch_of(sub: LeadSubmission, now: datetime) -> Touch:
    return Touch(utm=sub.utm, referrer=sub.referrer, page_url=sub.page_url, at=now)


def consent_of(sub: LeadSubmission, ip: str, now: datetime) -> Consent:
    """The consent evidence a submission gives: the wording, its version and form, the
    sender's address and ``now``, when they sent it."""
    if not sub.consent:
        return Consent()
    return Consent(
        given=True,
        text=sub.consent_text,
        text_version=sub.consent_text_version,
        given_at=now,
        ip=ip,
        form_id=sub.form_id,
    )


def new_lead(
    company_id: str,
    lead_id: str,
    sub: LeadSubmission,
    ip: str,
    now: datetime,
    sent_at: datetime | None = None,
) -> Lead:
    """The lead a first submission makes; ``sent_at``: when it was sent, if before ``now``
    (a submission staff release from spam), the time of its consent evidence."""
    touch = touch_of(sub, now)
    first_name, last_name = split_name(sub.name)
    return Lead(
        id=lead_id,
        company_id=company_id,
        email=sub.email,
        email_normalized=normalize_email(sub.email),
        name=sub.name,
        first_name=first_name,
        last_name=last_name,
        phone=sub.phone,
        source=sub.source or (sub.utm.source and "campaign") or "web_form",
        custom_fields=dict(sub.custom_fields),
        first_touch=touch,
        last_touch=touch,
        consent=consent_of(sub, ip, sent_at or now),
        submission_count=1,
        created_at=now,
        updated_at=now,
        last_engagement_at=now,
    )


def merge_submission(
    lead: Lead, sub: LeadSubmission, ip: str, now: datetime, sent_at: datetime | None = None
) -> Lead:
    """A repeat submission fills what the lead lacks and moves the last touch; nothing
    the lead has is overwritten. Anyone can post anyone's address, so a post proves
    nothing about who sent it: what it says differently stays on its own interaction
    (``submitted``). Consent evidence only adds: a post gives consent a lead lacks, and a
    form that left the box empty withdraws nothing (that is an explicit unsubscribe)."""
    given = sub.consent and not lead.consent.given
    consent = consent_of(sub, ip, sent_at or now) if given else lead.consent
    return lead.model_copy(
        update={
            "name": lead.name or sub.name,
            **(name_parts(sub.name) if sub.name and not lead.name else {}),
            "name_lower": search_key(lead.name or sub.name),
            "phone": lead.phone or sub.phone,
            "custom_fields": _filled(lead.custom_fields, sub.custom_fields),
            "last_touch": touch_of(sub, now),
            "consent": consent,
            "submission_count": lead.submission_count + 1,
            "updated_at": now,
            "last_engagement_at": now,
        }
    )


def _filled(stored: dict[str, Any], sent: dict[str, str]) -> dict[str, Any]:
    """The lead's custom fields with the blanks ``sent`` fills: new names only, while the
    lead has fewer than ``MAX_LEAD_CUSTOM_FIELDS`` (posts cannot grow it without end)."""
    filled = dict(stored)
    for name, value in sent.items():
        if name not in filled and value and len(filled) < MAX_LEAD_CUSTOM_FIELDS:
            filled[name] = value
    return filled


def submitted(sub: LeadSubmission, ip: str, now: datetime) -> dict[str, Any]:
    """What a submission said about the person, kept on its interaction: the lead keeps
    what it had, so this is where a later post's details and consent evidence stay."""
    values: dict[str, Any] = {"name": sub.name, "phone": sub.phone}
    values |= {"custom_fields": dict(sub.custom_fields)} if sub.custom_fields else {}
    values |= {"consent": consent_of(sub, ip, now).model_dump()} if sub.consent else {}
    return {k: v for k, v in values.items() if v is not None}
