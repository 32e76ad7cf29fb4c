"""E-mail providers' events on the in-memory fakes: the send reference each marketing
e-mail carries, hard bounces and complaints suppressing the address, soft bounces only
counted, replies answering the send once, and events matching nothing recorded as such."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.adapters.messaging import message_id
from shared.campaigns.domain.compliance import suppression_path
from shared.campaigns.domain.email_events import (
    REPLY_TEXT_CHARS,
    EmailEvent,
    EmailEventBatch,
    read_send_reference,
    signature,
    valid_signature,
)
from shared.campaigns.services.campaigns import change_status
from shared.campaigns.services.email_events import (
    EventResult,
    record_email_event,
    record_email_events,
)
from shared.campaigns.services.policy import links_from_settings
from shared.ports import SEND_HEADER
from tests.outreach_support import COMPANY, MANAGER, Env, new_env, save_campaign

KEY = links_from_settings().key


def _send(env: Env, campaign_id: str = "c1") -> str:
    """Start an e-mail campaign to the company's leads; the reference of l0's message."""
    save_campaign(env, campaign_id)
    change_status(env.store, env.queue, env.clock.now(), MANAGER, campaign_id, "start")
    env.run_all()
    mine = [m for m in env.messenger.calls if m.to == "p0@example.com"]
    return dict(mine[-1].headers)[SEND_HEADER]


def _event(**fields: Any) -> EmailEvent:
    return EmailEvent.model_validate(fields)


def _apply(env: Env, **fields: Any) -> EventResult:
    return record_email_event(env.store, env.clock.now(), KEY, _event(**fields))


def test_marketing_mail_carries_its_send_reference_as_message_id() -> None:
    """The header is a signed reference to the send; the SMTP messenger makes it the
    Message-ID's local part; any form of it (brackets or not) reads back, a forged one
    does not."""
    env = new_env(leads=1)
    reference = _send(env)
    (message,) = env.messenger.calls
    mid = message_id(message, "news@acme.example")
    company_id, send_id = read_send_reference(mid, KEY) or ("", "")
    send = env.doc(f"companies/{COMPANY}/outreach_sends/{send_id}")
    assert (f"<{reference}@acme.example>", COMPANY, "p0@example.com") == (
        mid,
        company_id,
        send["to"],
    )
    assert read_send_reference(reference, KEY) == read_send_reference(mid.strip("<>"), KEY)
    body, sig = reference.split(".")
    assert read_send_reference(f"{body[:-2]}AA.{sig}", KEY) is None
    assert read_send_reference("<CAF=abc@mail.gmail.com>", KEY) is None


def test_a_hard_bounce_suppresses_the_address_once() -> None:
    """A hard bounce (twice: the webhook retried) suppresses the address with reason
    bounced and the provider's detail, counts the campaign's bounce once, and the next
    campaign excludes the lead with the reason."""
    env = new_env(leads=2)
    reference = _send(env)
    bounce = {
        "type": "bounced",
        "bounce_type": "hard",
        "event_id": "ev-1",
        "message_id": f"<{reference}@acme.example>",
        "recipient": "p0@example.com",
        "detail": "550 5.1.1 mailbox unknown",
    }
    first, again = _apply(env, **bounce), _apply(env, **bounce)
    suppression = env.doc(suppression_path(COMPANY, "email", "p0@example.com"))
    assert ("applied", "duplicate", "message_id") == (
        first.outcome,
        again.outcome,
        first.matched_by,
    )
    assert ("bounced", "email_bounce", "550 5.1.1 mailbox unknown", "l0") == (
        suppression["reason"],
        suppression["source"],
        suppression["detail"],
        suppression["lead_id"],
    )
    assert 1 == env.doc(f"companies/{COMPANY}/campaigns/c1")["stats"]["bounced"]
    sent_before = len(env.messenger.calls)
    save_campaign(env, "c2")
    change_status(env.store, env.queue, env.clock.now(), MANAGER, "c2", "start")
    env.run_all()
    skipped = env.doc(f"companies/{COMPANY}/campaigns/c2/recipients/l0")
    new = [m.to for m in env.messenger.calls[sent_before:]]
    assert (["p1@example.com"], "excluded", "blocked: suppressed (bounced)") == (
        new,
        skipped["status"],
        skipped["reason"],
    )


def test_a_soft_bounce_is_counted_on_the_send_not_suppressed() -> None:
    env = new_env(leads=1)
    reference = _send(env)
    for n in range(2):
        _apply(env, type="bounced", bounce_type="soft", event_id=f"s{n}", message_id=reference)
    (send,) = env.docs(f"companies/{COMPANY}/outreach_sends").values()
    assert (2, False) == (
        send["soft_bounces"],
        suppression_path(COMPANY, "email", "p0@example.com") in env.store.docs,
    )


def test_an_event_naming_only_an_address_reaches_no_company() -> None:
    """A spam report or a reply naming only an address we did write to is unmatched: an
    address does not say which company's message it is about (several may have written,
    and anyone can write "From" it). Nothing is suppressed, counted or filed."""
    env = new_env(leads=1)
    _send(env)
    reply = {"from": "p0@example.com", "text": "yes"}
    results = [
        _apply(env, type="complained", event_id="c-1", recipient="P0@Example.com "),
        _apply(env, type="replied", event_id="c-2", reply=reply),
    ]
    assert [("unmatched", None), ("unmatched", None)] == [(r.outcome, r.send_id) for r in results]
    # Only the audience's and the send's counts: merges keep every counter (Firestore's).
    stats = {"selected": 1, "excluded": 0, "sent": 1}
    assert ({}, {}, stats) == (
        env.docs(f"companies/{COMPANY}/suppressions"),
        env.docs(f"companies/{COMPANY}/email_events"),
        env.doc(f"companies/{COMPANY}/campaigns/c1")["stats"],
    )


def test_references_lead_to_the_send_when_in_reply_to_does_not() -> None:
    """A reply whose In-Reply-To is another message (or missing) but whose References
    (a list, or the header's text) names our message is matched by references."""
    env = new_env(leads=1)
    reference = _send(env)
    reply = {"from": "p0@example.com", "text": "yes"}
    header = f"<root@mail.example> <{reference}@acme.example>"
    results = [
        _apply(env, type="replied", event_id="r-1", references=header, reply=reply),
        _apply(
            env,
            type="replied",
            event_id="r-2",
            message_id="<x@mail.example>",
            references=[f"<{reference}@acme.example>", "<y@mail.example>"],
            reply=reply,
        ),
    ]
    assert [("applied", "references")] * 2 == [(r.outcome, r.matched_by) for r in results]


def test_a_reply_answers_the_send_once_and_keeps_its_text_truncated() -> None:
    """The reply (delivered twice, then once more under another event id) gives the lead
    one inbound replied interaction whose body is the text as written (markup kept as
    text, cut at 5,000 characters), and the recipient is responded, counted once."""
    env = new_env(leads=1)
    reference = _send(env)
    text = "<script>alert(1)</script> yes please " + "x" * 6000
    reply = {"from": "p0@example.com", "subject": "Re: Hi Pat0", "text": text}
    event = {"type": "replied", "event_id": "r-1", "message_id": reference, "reply": reply}
    outcomes = [_apply(env, **event).outcome, _apply(env, **event).outcome]
    outcomes.append(_apply(env, **{**event, "event_id": "r-2"}).outcome)
    replies = [
        i
        for i in env.docs(f"companies/{COMPANY}/leads/l0/interactions").values()
        if i.get("direction") == "inbound"
    ]
    recipient = env.doc(f"companies/{COMPANY}/campaigns/c1/recipients/l0")
    stats = env.doc(f"companies/{COMPANY}/campaigns/c1")["stats"]
    assert ["applied", "duplicate", "applied"] == outcomes
    assert ("responded", 1) == (recipient["status"], stats["responded"])
    first = next(r for r in replies if r["body"].startswith("<script>"))
    assert (REPLY_TEXT_CHARS, "replied", "email", "Re: Hi Pat0") == (
        len(first["body"]),
        first["status"],
        first["type"],
        first["metadata"]["subject"],
    )


def test_an_event_matching_nothing_is_recorded_as_unmatched() -> None:
    """Another sender's Message-ID and an address we never wrote to: 'unmatched', kept
    once outside every company, the bounce at unmatched_email_events, the reply with its
    text at unmatched_replies (for operators to pass on); nothing suppressed."""
    env = new_env(leads=1)
    batch = EmailEventBatch.model_validate(
        {
            "events": [
                {
                    "type": "bounced",
                    "bounce_type": "hard",
                    "event_id": "x-1",
                    "message_id": "<abc@other.example>",
                    "recipient": "stranger@example.org",
                },
                {
                    "type": "replied",
                    "event_id": "x-2",
                    "reply": {"from": "stranger@example.org", "text": "who are you?"},
                },
            ]
        }
    )
    for _ in range(2):
        results = record_email_events(env.store, env.clock.now(), KEY, batch)
    unmatched, replies = env.docs("unmatched_email_events"), env.docs("unmatched_replies")
    assert ["unmatched", "unmatched"] == [r.outcome for r in results]
    assert (["bounced"], [("stranger@example.org", "who are you?")]) == (
        [e["type"] for e in unmatched.values()],
        [(r["from"], r["text"]) for r in replies.values()],
    )
    assert {} == env.docs(f"companies/{COMPANY}/suppressions")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "bounced", "recipient": "a@example.com"}, "events.0"),
        ({"type": "replied", "message_id": "x"}, "events.0"),
        ({"type": "complained"}, "events.0"),
        ({"type": "opened", "recipient": "a@example.com"}, "events.0.type"),
        ({"type": "complained", "recipient": "not an address"}, "events.0.recipient"),
        ({"type": "delivered", "recipient": "a@example.com", "extra": 1}, "events.0.extra"),
    ],
)
def test_malformed_events_are_refused_by_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        EmailEventBatch.model_validate({"events": [event]})
    assert field in {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}


def test_signatures_cover_the_exact_body() -> None:
    body = b'{"events": []}'
    good = signature(body, "s3cret")
    assert (True, False, False) == (
        valid_signature(body, good, "s3cret"),
        valid_signature(body + b" ", good, "s3cret"),
        valid_signature(body, good, "other"),
    )
