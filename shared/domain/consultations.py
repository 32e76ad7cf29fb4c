"""Consultations: booked meetings with a business, their reminders, notes and outcome.

A company's consultations never overlap: booking checks, in one transaction, the
scheduled consultations that could overlap the new one (those starting up to
``MAX_DURATION`` before its end) and locks the UTC days the new one touches with a marker
document each. Two overlapping bookings share at least one instant, hence a day, so they
always contend on that day's marker and the second one sees the first.

Reminders go out ``reminder_hours`` before the start through scheduled tasks; cancelling
or completing a consultation cancels those still pending. Notes have a client-facing part
(summary, insights, action items) and ``internal_notes``, which stay with staff: nothing
sent to the attendee includes them.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from shared.domain.common import Email, ShortText, StoredModel, stable_id
from shared.domain.leads import split_name
from shared.staff_api.domain.edits import DocId, EditModel

MIN_MINUTES = 15
MAX_MINUTES = 8 * 60
MAX_DURATION = timedelta(minutes=MAX_MINUTES)
# Non-overlapping consultations of at least MIN_MINUTES in a window of 2 * MAX_DURATION.
OVERLAP_SCAN = 2 * MAX_MINUTES // MIN_MINUTES + 1
MAX_AHEAD = timedelta(days=2 * 365)
MeetingLink = Annotated[str, Field(max_length=2000, pattern=r"^https://[^\s/?#]+[^\s]*$")]
Line = Annotated[str, Field(min_length=1, max_length=1000)]


class ConsultationType(StrEnum):
    STRATEGY = "strategy"
    AUDIT = "audit"
    FOLLOW_UP = "follow_up"


class ConsultationStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ConsultationNotes(EditModel):
    summary: str | None = Field(default=None, max_length=10_000)
    insights: list[Line] = Field(default=[], max_length=30)
    action_items: list[Line] = Field(default=[], max_length=30)
    follow_up_required: bool = False
    # Staff only: never part of anything sent to the attendee.
    internal_notes: str | None = Field(default=None, max_length=10_000)


class ConsultationEdit(EditModel):
    """What staff may change on a booked consultation (not its time: cancel and rebook)."""

    type: ConsultationType = ConsultationType.STRATEGY
    topic: ShortText | None = None
    attendee_name: ShortText | None = None
    meeting_link: MeetingLink | None = None
    notes: ConsultationNotes = Field(default_factory=ConsultationNotes)


class BookingRequest(ConsultationEdit):
    scheduled_at: datetime
    duration_minutes: int = Field(default=60, ge=MIN_MINUTES, le=MAX_MINUTES)
    attendee_email: Email
    business_profile_id: DocId | None = None
    lead_id: DocId | None = None
    host_uid: DocId | None = None  # default: the caller

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:  # a booking's instant must not depend on the server's zone
            raise ValueError("scheduled_at needs a time zone (e.g. 2026-03-03T14:00:00+01:00)")
        return value.astimezone(UTC)


class Consultation(StoredModel, BookingRequest):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str
    status: ConsultationStatus = ConsultationStatus.SCHEDULED
    ends_at: datetime | None = None
    reminder_task_ids: list[str] = []
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    completed_at: datetime | None = None


class CancelRequest(EditModel):
    reason: str | None = Field(default=None, max_length=1000)
    notify_attendee: bool = True


class CompleteRequest(EditModel):
    notes: ConsultationNotes | None = None
    send_summary: bool = False


def check_time(start: datetime, now: datetime) -> str | None:
    """Why a booking at ``start`` is refused, or None."""
    if start < now:
        return "scheduled_at is in the past"
    if start > now + MAX_AHEAD:
        return "scheduled_at is more than two years ahead"
    return None


def overlaps(start: datetime, end: datetime, other: dict[str, Any]) -> bool:
    """Whether a stored consultation overlaps ``[start, end)``."""
    other_start = other.get("scheduled_at")
    if not isinstance(other_start, datetime):
        return False
    other_end = other_start + timedelta(minutes=int(other.get("duration_minutes") or 0))
    return other_start < end and start < other_end


def days_touched(start: datetime, end: datetime) -> list[str]:
    """The UTC dates ``[start, end)`` touches: the marker documents a booking locks."""
    day = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    days = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def reminder_times(
    start: datetime, hours: list[float], now: datetime
) -> list[tuple[float, datetime]]:
    """(hours before, when) of each reminder still ahead of ``now``."""
    times = [(h, start - timedelta(hours=h)) for h in sorted(set(hours), reverse=True)]
    return [(h, at) for h, at in times if at > now]


def reminder_key(company_id: str, consultation_id: str, hours: float) -> str:
    return f"consultation-reminder:{company_id}:{consultation_id}:{hours:g}"


def reminder_task_id(company_id: str, consultation_id: str, hours: float) -> str:
    """The scheduled task's id, as ``schedule_task`` derives it from the key."""
    return stable_id(reminder_key(company_id, consultation_id, hours))


def consultation_path(company_id: str, consultation_id: str) -> str:
    return f"companies/{company_id}/consultations/{consultation_id}"


def day_marker_path(company_id: str, day: str) -> str:
    return f"companies/{company_id}/consultation_days/{day}"


def when_text(start: datetime, time_zone: str) -> str:
    """``Tuesday 3 March 2026, 14:00 (Europe/Paris)``; UTC for an unknown zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, time_zone = ZoneInfo("UTC"), "UTC"
    local = start.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({time_zone})"


def reminder_text(consultation: Consultation, company: str, time_zone: str) -> tuple[str, str]:
    """Subject and body of a reminder (what the attendee needs, nothing internal)."""
    when = when_text(consultation.scheduled_at, time_zone)
    kind = consultation.type.value.replace("_", "-")
    lines = [
        f"Hello {split_name(consultation.attendee_name)[0] or ''}".rstrip() + ",",
        "",
        f"This is a reminder of your {kind} consultation with {company} on {when},"
        f" for {consultation.duration_minutes} minutes.",
    ]
    if consultation.meeting_link:
        lines.append(f"Join here: {consultation.meeting_link}")
    return f"Reminder: your consultation with {company}", "\n".join(lines)


def summary_text(consultation: Consultation, company: str) -> tuple[str, str]:
    """The summary mailed after a consultation: summary, insights and action items only."""
    notes = consultation.notes
    lines = [f"Thank you for your consultation with {company}.", ""]
    if notes.summary:
        lines += ["Summary:", notes.summary, ""]
    lines += [f"Insight: {i}" for i in notes.insights]
    lines += [f"Action item: {a}" for a in notes.action_items]
    if notes.follow_up_required:
        lines += ["", "We will be in touch to arrange a follow-up."]
    return f"Your consultation with {company}: summary", "\n".join(lines).strip()
