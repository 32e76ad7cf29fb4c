"""What each platform accepts, checked before anything is sent, and where content without
named platforms goes.

Content names platforms by connection id (``linkedin``, ``wordpress``, ``wordpress-shop``
for a second site; ``x`` is ``twitter``). Two names are not connections: ``blog``, which
stands for every WordPress connection of the company, and ``email``, which is sent as a
newsletter issue to the company's confirmed subscribers rather than posted.

The refusals here are the platforms' own documented limits, so staff get a 400 when they
schedule rather than a failure later: Instagram publishes images only, and X counts at
most 280 weighted characters (twitter-text v3: most scripts weigh 1, CJK and the rest 2,
every URL 23, every emoji 2).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from shared.domain.content import (
    MAX_ATTEMPTS,
    Content,
    ContentStatus,
    PlatformState,
    PlatformStatus,
    Receipt,
    with_states,
)

BLOG = "blog"
EMAIL = "email"
X_MAX_WEIGHT = 280
X_URL_WEIGHT = 23
NO_BLOG = "no platform connected: connect WordPress, or name platforms"
NO_PLATFORMS = "no platform named: name platforms, e.g. ['linkedin']"
_ALIASES = {"x": "twitter", BLOG: "wordpress"}
_KINDS = ("twitter", "linkedin", "facebook", "instagram", "wordpress", "webhook")
# twitter-text v3: code points weighing 1; every other one weighs 2.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_TLDS = "com|org|net|io|co|uk|de|fr|es|it|nl|eu|us|ca|au|info|biz|me|app|dev|ai|ly|shop"
_URL = re.compile(
    rf"https?://\S+|www\.\S+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/\S*)?",
    re.IGNORECASE,
)
_MARKS = "\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"  # VS, skin tones, tags
_PICTOGRAPH = "[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]"
# One emoji as X counts it: a flag, or pictographs joined by ZWJ, with their modifiers.
_EMOJI = re.compile(
    f"[\U0001f1e6-\U0001f1ff]{{2}}|{_PICTOGRAPH}[{_MARKS}]*(?:\u200d{_PICTOGRAPH}[{_MARKS}]*)*"
)
_LEFTOVER_MARKS = re.compile(f"[{_MARKS}]")


def platform_kind(name: str) -> str:
    """The platform a content platform name posts to: ``x`` and ``twitter-2`` are
    ``twitter``, ``blog`` and ``wordpress-shop`` are ``wordpress``; other names as given."""
    name = _ALIASES.get(name, name)
    head = name.split("-", 1)[0]
    return head if head in _KINDS else name


def post_text(title: str, body: str, content_type: str) -> str:
    """What a social platform posts: a social post's body (its title if it has none); a
    blog post or e-mail shared there, its title and then its body."""
    if content_type == "social":
        return body.strip() or title.strip()
    return "\n\n".join(part for part in (title.strip(), body.strip()) if part)


def x_weight(text: str) -> int:
    """How long X counts ``text`` (docs.x.com/fundamentals/counting-characters)."""
    text = unicodedata.normalize("NFC", text)
    urls = len(_URL.findall(text))
    text = _URL.sub("", text)
    emoji = len(_EMOJI.findall(text))
    rest = _LEFTOVER_MARKS.sub("", _EMOJI.sub("", text))
    weight = sum(1 if any(a <= ord(c) <= b for a, b in _LIGHT) else 2 for c in rest)
    return weight + X_URL_WEIGHT * urls + 2 * emoji


def refusal(
    platform: str, *, title: str, body: str, content_type: str, image_url: str | None
) -> str | None:
    """Why ``platform`` would refuse this content, or None when it would take it."""
    kind = platform_kind(platform)
    if kind == "instagram" and not image_url:
        return "Instagram publishes images only: set image_url"
    if kind == "twitter":
        weight = x_weight(post_text(title, body, content_type))
        if weight > X_MAX_WEIGHT:
            return (
                f"X allows {X_MAX_WEIGHT} characters (a link counts {X_URL_WEIGHT}, an emoji "
                f"2); this post counts {weight}"
            )
    return None


def refusals(
    platforms: Iterable[str], *, title: str, body: str, content_type: str, image_url: str | None
) -> dict[str, str]:
    """Each platform that would refuse this content, with why."""
    found = {
        p: refusal(p, title=title, body=body, content_type=content_type, image_url=image_url)
        for p in platforms
    }
    return {p: why for p, why in found.items() if why}


def default_platforms(content: Content) -> list[str]:
    """Where content without named platforms goes: a blog post to the blog, an e-mail to
    the newsletter; ``ValueError`` with the reason for the rest."""
    if content.type.value in (BLOG, EMAIL):
        return [content.type.value]
    raise ValueError(NO_PLATFORMS)


def with_destinations(
    content: Content, destinations: Mapping[str, Sequence[str]], now: datetime
) -> Content:
    """The content with each pending platform named in ``destinations`` replaced by
    where it goes (``blog``: every WordPress connection). One going nowhere stays, failed
    with the reason."""
    platforms: list[str] = []
    states = dict(content.platform_status)
    for name in content.platforms:
        state = content.state(name)
        found = [name]
        if state.status is PlatformStatus.PENDING:
            found = list(destinations.get(name, [name]))
        if not found:
            states[name] = failure(state, NO_BLOG)
        elif found != [name]:
            states.pop(name, None)  # ``blog`` became its sites: no state of its own
        platforms += found or [name]
    for name in platforms:
        states.setdefault(name, PlatformState())
    moved = content.model_copy(update={"platforms": list(dict.fromkeys(platforms))})
    return with_states(moved, states, now)


def without_platforms(content: Content, reason: str, now: datetime) -> Content:
    """Content that has nowhere to go, failed with ``reason`` (visible to staff)."""
    return content.model_copy(
        update={
            "platforms": [],
            "status": ContentStatus.FAILED,
            "failure_reason": reason,
            "updated_at": now,
        }
    )


def _settled(state: PlatformState, status: PlatformStatus, **fields: object) -> PlatformState:
    """``state`` with ``status`` and nothing in flight (or left to look up)."""
    update = {"status": status, "sent_at": None, "lease_until": None, "retry_at": None}
    return state.model_copy(update=update | fields)


def failure(state: PlatformState, reason: str) -> PlatformState:
    """``state`` failed for ``reason``."""
    return _settled(state, PlatformStatus.FAILED, error=reason)


def published(state: PlatformState, receipt: Receipt, now: datetime) -> PlatformState:
    return _settled(
        state,
        PlatformStatus.PUBLISHED,
        url=receipt.url or None,
        external_id=receipt.external_id,
        error=None,
        published_at=now,
    )


def retried(state: PlatformState, error: str, at: datetime | None = None) -> PlatformState:
    """Pending again after a failure worth retrying (not before ``at``); failed once the
    attempts are used up."""
    if state.attempts >= MAX_ATTEMPTS:
        return failure(state, error)
    return _settled(state, PlatformStatus.PENDING, error=error, retry_at=at)


def unknown(state: PlatformState, error: str) -> PlatformState:
    """Perhaps posted, perhaps not, and the platform cannot tell: for staff to check."""
    return _settled(state, PlatformStatus.UNKNOWN, error=error)


def look_again(state: PlatformState, error: str) -> PlatformState:
    """The lookup after an unconfirmed request failed: pending, the request still
    counted as out (``sent_at`` kept), so the next run looks again instead of posting."""
    if state.attempts >= MAX_ATTEMPTS:
        return unknown(state, error)
    return state.model_copy(update={"error": error, "lease_until": None, "retry_at": None})


def claimed(state: PlatformState, now: datetime, lease: timedelta) -> PlatformState:
    """``state`` as a run takes it: one more attempt, a request out from now (or still
    the one sent earlier, to look up), the run alive until ``now + lease``."""
    return state.model_copy(
        update={
            "attempts": state.attempts + 1,
            "sent_at": state.sent_at or now,
            "lease_until": now + lease,
            "retry_at": None,
        }
    )
