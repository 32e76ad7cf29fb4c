"""The configuration reference, generated from the code at every docs build.

An mkdocs hook: a page's ``<!-- settings-reference: environment -->`` becomes a table of
every ``shared.settings.Settings`` field (its environment variable, type, default and
description) and ``<!-- settings-reference: company -->`` one of every company setting
(``CompanySettings``, stored in the company's document). Whatever fields exist when the
site is built are listed, so the page is never kept by hand. ``python
docs/hooks/settings_reference.py`` prints both tables.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

import annotated_types
from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo

MARKER = "<!-- settings-reference: {} -->"

# What each company setting means, until the model carries descriptions of its own (a
# Field description, when present, wins).
COMPANY_HELP = {
    "min_submit_seconds": "A form sent sooner than this after it was shown (its "
    "`started_at`) is kept apart as spam (`too_fast`).",
    "submissions_per_ip_per_hour": "Form posts one IP address may make per hour (lead "
    "intake, downloads, newsletter sign-ups); the next gets 429.",
    "submissions_per_company_per_minute": "Form posts the whole company takes per minute; "
    "the next gets 429.",
    "events_per_ip_per_hour": "Website analytics events one IP address may send per hour "
    "(shared office networks too); the batch that would pass it gets 429.",
    "thank_you_url": "Where an urlencoded (plain HTML) form post is redirected with 303 "
    "(a `redirect_url` in the post must be on the same site).",
    "review_cooldown_days": "A customer is asked for a review at most once in this many days.",
    "review_reminders": "Reminders sent after a review request while it is not completed.",
    "review_reminder_interval_hours": "Hours between the request and each reminder.",
    "review_on_conversion": "Ask for a review automatically when a lead is converted.",
    "default_review_platform": "The platform of a review request that names none.",
    "review_urls": "The company's review page per platform, e.g. "
    '`{"google": "https://g.page/r/..."}`; a request for a platform without one is refused.',
    "review_message_template": "The review request's text: `{name}` (the customer's first "
    "name, as a greeting wants it; `{full_name}` for the whole), `{company}` and `{url}` are "
    "filled in.",
    "time_zone": "The company's clock (IANA name): the posting queue's times, and workflow "
    "waits and SMS quiet hours of leads without a time zone of their own.",
    "score_notify_at": "E-mail the lead's assignee when its score reaches this (unset: never).",
    "notify_new_leads": (
        "E-mail each new lead to its assignee, or to every admin while it has none "
        "(`growthkit company create` turns it on)."
    ),
    "engagement_decay_percent": "Engagement points lose this percentage every "
    "`engagement_decay_days` without new engagement (0: no decay).",
    "engagement_decay_days": "The period of that decay.",
    "postal_address": "The sender's postal address, in the footer of every marketing "
    "e-mail; without one marketing e-mail is refused (409).",
    "frequency_cap": "At most this many marketing messages per channel and address in each "
    "`frequency_cap_days` window, across campaigns and workflows.",
    "frequency_cap_days": "The window of that cap, in days.",
    "quiet_hours_start": "Marketing SMS goes out from this hour on the recipient's clock...",
    "quiet_hours_end": "...until this hour; a message due outside waits for the next start.",
    "send_rate_email": "Campaign e-mails sent per `send_window_seconds`, across campaigns.",
    "send_rate_sms": "Campaign SMS sent per `send_window_seconds`, across campaigns.",
    "send_window_seconds": "The window of the send rates.",
    "sms_help_text": "The answer to an SMS saying HELP (`{company}` is filled in).",
    "consultation_reminder_hours": "Reminders to a consultation's attendee, this many hours "
    "before its start.",
}

_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "≤"),
)


def _type_name(annotation: Any) -> str:
    """A reader's name for a field's type: ``text``, ``true/false``, one of the values..."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        shown = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(shown) + (", optional" if type(None) in args else "")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    if origin in (list, dict):
        return f"{'list' if origin is list else 'map'} of {_type_name(args[-1])}"
    return names.get(annotation, "secret" if annotation is SecretStr else str(annotation))


def _constraints(field: FieldInfo) -> str:
    shown = []
    for item in field.metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(item, kind):
                shown.append(f"{sign} {getattr(item, attr)}")
        if isinstance(item, annotated_types.MaxLen):
            shown.append(f"at most {item.max_length} long")
    return f" ({', '.join(shown)})" if shown else ""


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "built-in development value" if value.get_secret_value() else "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        value = value.value
    if value in ("", {}, []):
        return "empty"
    return f"`{value}`".replace("|", "\\|")


def _variables(name: str, field: FieldInfo, prefix: str) -> str:
    alias = field.validation_alias
    names = alias.choices if isinstance(alias, AliasChoices) else [prefix + name.upper()]
    return "<br>".join(f"`{n}`" for n in names)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def environment_table() -> str:
    """Every Settings field: its variable(s), type, default and description."""
    from shared.settings import ENV_PREFIX, Settings

    rows = ["| Variable | Type | Default | What it does |", "| --- | --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        kind = _type_name(field.annotation) + _constraints(field)
        text = _cell(field.description or "")
        rows.append(
            f"| {_variables(name, field, ENV_PREFIX)} | {kind} | {_default(field)} | {text} |"
        )
    return "\n".join(rows) + "\n"


def company_table(model: type[BaseModel] | None = None) -> str:
    """Every company setting: its key under ``settings``, type, default and meaning."""
    if model is None:
        from shared.domain.company import CompanySettings

        model = CompanySettings
    rows = ["| Setting | Type | Default | What it does |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        kind = _type_name(field.annotation) + _constraints(field)
        text = _cell(field.description or COMPANY_HELP.get(name, ""))
        rows.append(f"| `{name}` | {kind} | {_default(field)} | {text} |")
    return "\n".join(rows) + "\n"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs hook: fill in the reference tables where a page asks for them."""
    for kind, table in (("environment", environment_table), ("company", company_table)):
        marker = MARKER.format(kind)
        if marker in markdown:
            markdown = markdown.replace(marker, table())
    return markdown


if __name__ == "__main__":
    print(environment_table())
    print(company_table())
