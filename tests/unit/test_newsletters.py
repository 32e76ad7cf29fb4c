"""Newsletter double opt-in against in-memory fakes: signed links, resends, unsubscribing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shared.domain.newsletters import (
    LinkClaims,
    SignupRequest,
    sign_link,
    subscription_id,
    subscription_path,
    verify_link,
)
from shared.errors import InvalidInput, NotFound, PermissionDenied, RateLimited, Refused
from shared.services import newsletters
from tests.fakes import FakeClock, FakeMessenger, FakeStore

KEY = "test-signing-key"
LINKS = newsletters.Links("https://fn.example", KEY)
FORM_KEY = "acme.public-key-123"
SUB = subscription_path("acme", subscription_id("ann@example.com"))


class World:
    def __init__(self) -> None:
        self.store, self.messenger, self.clock = FakeStore(), FakeMessenger(), FakeClock()
        company = {"name": "Acme", "public_form_key": FORM_KEY, "allowed_origins": []}
        self.store.docs["companies/acme"] = (company, self.clock.now())

    def signup(self, **fields: object) -> newsletters.SignupResult:
        req = SignupRequest.model_validate(
            {"form_key": FORM_KEY, "email": "ann@example.com", **fields}
        )
        return newsletters.signup(
            self.store, self.messenger, self.clock.now(), LINKS, req, "203.0.113.9", None
        )

    def link(self, function: str) -> str:
        """The token of the last mail's link to ``function``."""
        body = list(self.messenger.sent.values())[-1].body
        headers = dict(list(self.messenger.sent.values())[-1].headers)
        found = re.findall(rf"{function}\?token=([\w.-]+)", body + headers["List-Unsubscribe"])
        return str(found[0])

    def status(self) -> object:
        return self.store.docs[SUB][0]["status"]


def test_signup_is_pending_until_the_mailed_link_is_followed() -> None:
    """Signup: pending, one mail; its link activates the subscription, evidence kept."""
    w = World()
    assert "confirmation_sent" == w.signup(frequency="monthly", topics="tips, news").outcome
    assert ("pending", 1) == (w.status(), len(w.messenger.sent))
    done = newsletters.confirm(w.store, w.clock.now(), KEY, w.link("newsletter_confirm"), "1.2.3.4")
    stored = w.store.docs[SUB][0]
    assert ("active", False, "monthly", ["tips", "news"], "1.2.3.4") == (
        done.subscription.status.value,
        done.already,
        stored["frequency"],
        stored["topics"],
        stored["confirmed_ip"],
    )


def test_checking_a_confirmation_link_changes_nothing_and_confirming_twice_is_harmless() -> None:
    """What a link scanner's GET does (check) leaves the signup pending and names the
    company; the second confirmation says ``already`` and keeps the first evidence."""
    w = World()
    w.signup()
    token = w.link("newsletter_confirm")
    before = dict(w.store.docs[SUB][0])
    pending = newsletters.check_confirmation(w.store, w.clock.now(), KEY, token)
    assert (("Acme", False), before) == (
        (pending.company_name, pending.already),
        w.store.docs[SUB][0],
    )
    first = newsletters.confirm(w.store, w.clock.now(), KEY, token, "1.2.3.4")
    w.clock.advance(hours=1)
    again = newsletters.confirm(w.store, w.clock.now(), KEY, token, "5.6.7.8")
    checked = newsletters.check_confirmation(w.store, w.clock.now(), KEY, token)
    assert (False, True, True, "1.2.3.4") == (
        first.already,
        again.already,
        checked.already,
        w.store.docs[SUB][0]["confirmed_ip"],
    )
    with pytest.raises(Refused, match="expired"):
        newsletters.check_confirmation(w.store, w.clock.now() + timedelta(hours=49), KEY, token)
    with pytest.raises(InvalidInput):
        newsletters.check_confirmation(w.store, w.clock.now(), KEY, "garbage")


def test_signing_up_again_resends_once_a_day_with_the_same_link() -> None:
    """The same day: no second mail; the next day: a second mail, for the same signup."""
    w = World()
    w.signup()
    first = w.link("newsletter_confirm")
    w.signup()
    assert 1 == len(w.messenger.sent)
    w.clock.advance(days=1)
    w.signup()
    assert 2 == len(w.messenger.sent)
    newsletters.confirm(w.store, w.clock.now(), KEY, first, "1.2.3.4")
    assert "active" == w.status()


def test_an_active_subscription_is_not_changed_by_the_public_form() -> None:
    """Anyone can post the form: an active subscriber's preferences stay, no mail goes."""
    w = World()
    w.signup(frequency="daily")
    newsletters.confirm(w.store, w.clock.now(), KEY, w.link("newsletter_confirm"), "ip")
    w.clock.advance(days=2)
    assert "already_active" == w.signup(frequency="monthly").outcome
    assert ("daily", 1) == (w.store.docs[SUB][0]["frequency"], len(w.messenger.sent))


def test_links_expire_and_cannot_be_forged_or_repurposed() -> None:
    """48 hours later the confirmation link is refused; a changed token or an unsubscribe
    token used to confirm is invalid."""
    w = World()
    w.signup()
    token = w.link("newsletter_confirm")
    with pytest.raises(Refused, match="expired"):
        newsletters.confirm(w.store, w.clock.now() + timedelta(hours=49), KEY, token, "ip")
    payload, _, signature = token.partition(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    unsubscribe = w.link("newsletter_unsubscribe")
    for bad in (forged, unsubscribe, "garbage"):
        with pytest.raises(InvalidInput):
            newsletters.confirm(w.store, w.clock.now(), KEY, bad, "ip")
    assert "pending" == w.status()


def test_unsubscribe_records_the_time_once_and_old_confirmations_stop_working() -> None:
    """Unsubscribing keeps its first time; the earlier confirmation link is then refused;
    signing up again starts a new pending signup with a new link."""
    w = World()
    w.signup()
    confirm_token, unsubscribe_token = (
        w.link("newsletter_confirm"),
        w.link("newsletter_unsubscribe"),
    )
    first = w.clock.now()
    newsletters.unsubscribe(w.store, first, KEY, unsubscribe_token)
    newsletters.unsubscribe(w.store, first + timedelta(days=3), KEY, unsubscribe_token)
    assert ("unsubscribed", first) == (w.status(), w.store.docs[SUB][0]["unsubscribed_at"])
    with pytest.raises(Refused, match="earlier signup"):
        newsletters.confirm(w.store, first, KEY, confirm_token, "ip")
    w.signup()
    assert confirm_token != w.link("newsletter_confirm")
    newsletters.confirm(w.store, first, KEY, w.link("newsletter_confirm"), "ip")
    assert "active" == w.status()


def test_unknown_form_key_origin_and_subscription_are_refused() -> None:
    """A wrong form key is 404, a foreign origin 403, a signed link to nothing 404."""
    w = World()
    with pytest.raises(NotFound):
        newsletters.signup(
            w.store,
            w.messenger,
            w.clock.now(),
            LINKS,
            SignupRequest(form_key="acme.wrong", email="a@example.com"),
            "ip",
            None,
        )
    w.store.docs["companies/acme"][0]["allowed_origins"] = ["https://acme.example"]
    with pytest.raises(PermissionDenied):
        newsletters.signup(
            w.store,
            w.messenger,
            w.clock.now(),
            LINKS,
            SignupRequest(form_key=FORM_KEY, email="a@example.com"),
            "ip",
            "https://evil.example",
        )
    token = sign_link(KEY, LinkClaims("unsubscribe", "acme", "nobody"))
    with pytest.raises(NotFound):
        newsletters.unsubscribe(w.store, w.clock.now(), KEY, token)


def test_the_honeypot_stores_and_sends_nothing() -> None:
    """A bot filling the hidden field is answered like anyone, and nothing is kept."""
    w = World()
    assert "spam" == w.signup(website="http://spam.example").outcome
    assert (False, 0) == (SUB in w.store.docs, len(w.messenger.sent))


def test_a_token_verifies_only_with_its_key() -> None:
    """Another key (another deployment) does not accept the token."""
    token = sign_link(KEY, LinkClaims("confirm", "acme", "s1", "n", None))
    assert "s1" == verify_link(KEY, token, "confirm", FakeClock().now()).subscription_id
    with pytest.raises(InvalidInput):
        verify_link("other-key", token, "confirm", FakeClock().now())


def test_signups_count_against_the_form_rate_limit() -> None:
    """One IP signing up addresses beyond the company's hourly limit is refused (the
    signup sends mail), and nothing is stored or sent for the refused one."""
    w = World()
    w.store.docs["companies/acme"][0]["settings"] = {"submissions_per_ip_per_hour": 2}
    for n in range(2):
        w.signup(email=f"n{n}@example.com")
    with pytest.raises(RateLimited):
        w.signup(email="n2@example.com")
    subs = [p for p in w.store.docs if "/newsletter_subscriptions/" in p]
    assert (2, 2) == (len(subs), len(w.messenger.sent))


def test_topics_of_a_signup_made_again_while_pending() -> None:
    """Added after the earlier ones, each once; past the bound the oldest give way."""
    from shared.domain.newsletters import MAX_TOPICS, merged_topics

    assert ["tips", "offers", "news"] == merged_topics(["tips", "offers"], ["offers", "news"])
    assert ["tips"] == merged_topics(["tips"], [])
    old = [f"old{i}" for i in range(MAX_TOPICS)]
    merged = merged_topics(old, ["new1", "new2"])
    assert (MAX_TOPICS, ["old2", "old3"], ["new1", "new2"]) == (
        len(merged),
        merged[:2],
        merged[-2:],
    )
    assert [f"n{i}" for i in range(MAX_TOPICS)] == merged_topics(
        ["x"], [f"n{i}" for i in range(MAX_TOPICS)]
    )
