"""Newsletter signup with double opt-in, confirmation and unsubscribing.

The public signup answers the same whatever the address's state (pending, active,
unsubscribed), so it cannot be used to learn who subscribes; only the owner of the address
learns anything, from the mail. Every mail carries an idempotency key with the day in it:
signing up again the same day sends nothing more, the next day sends the link again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from msgspec import Struct

from shared.domain.common import random_id
from shared.domain.company import Company, company_path
from shared.domain.intake import RateWindow, rate_windows
from shared.domain.newsletters import (
    CONFIRM_TTL,
    LinkClaims,
    NewsletterSubscription,
    SignupRequest,
    SubscriptionStatus,
    confirmation_text,
    merged_topics,
    sign_link,
    subscription_id,
    subscription_path,
    verify_link,
)
from shared.errors import NotFound, RateLimited, Refused
from shared.ports import (
    Data,
    DocumentStore,
    Increment,
    Messenger,
    OutboundMessage,
    Snapshot,
    Transaction,
    Write,
)
from shared.services.intake import check_origin, load_company

log = logging.getLogger("growthkit.newsletters")


class Links(Struct, frozen=True):
    """Where the links in mails point, and the key that signs them."""

    base_url: str
    signing_key: str

    def url(self, function: str, claims: LinkClaims) -> str:
        return f"{self.base_url.rstrip('/')}/{function}?token={sign_link(self.signing_key, claims)}"


class SignupResult(Struct, frozen=True):
    company: Company
    outcome: Literal["confirmation_sent", "already_active", "spam"]


def signup(
    store: DocumentStore,
    messenger: Messenger,
    now: datetime,
    links: Links,
    req: SignupRequest,
    ip: str,
    origin: str | None,
) -> SignupResult:
    """Record a pending subscription and mail its confirmation link.

    Args:
        store: The document store.
        messenger: Sends the confirmation mail.
        now: The signup time.
        links: Base URL and signing key of the links.
        req: The form: key, address, frequency, topics.
        ip: The visitor's address (kept as evidence of the signup).
        origin: The page's origin (only the company's sites may post).

    Returns:
        The company and what happened (the caller answers the same for each).

    Raises:
        NotFound: Unknown form key. PermissionDenied: Origin not allowed.
    """
    company = load_company(store, req.form_key, now)
    check_origin(company, origin)
    if req.website:
        log.warning("newsletter signup for %s caught by the honeypot", company.id)
        return SignupResult(company, "spam")
    path = subscription_path(company.id, subscription_id(req.email))
    sub = store.run_transaction(lambda tx: _pending(tx, path, company, req, ip, now))
    if sub.status is SubscriptionStatus.ACTIVE:
        log.info("newsletter signup for an active subscription %s of %s", sub.id, company.id)
        return SignupResult(company, "already_active")
    _send_confirmation(messenger, now, links, company, sub)
    store.commit([Write(path, {"confirmation_sent_at": now}, "update")])
    return SignupResult(company, "confirmation_sent")


def _pending(
    tx: Transaction, path: str, company: Company, req: SignupRequest, ip: str, now: datetime
) -> NewsletterSubscription:
    """The subscription after this signup: an active one is left as it is (a form anyone
    can post must not change someone's preferences); any other is pending, keeping the
    nonce of a signup still pending so links already mailed keep working. The signup
    counts against the company's form rate limits (it makes us send mail)."""
    windows = rate_windows(ip, company.settings, now)
    limits = [f"companies/{company.id}/rate_limits/{i}" for w in windows for i in w.doc_ids()]
    # Every shard, read in the transaction: a signup is rare, so exact and simple wins.
    snap, *counters = tx.get_all([path, *limits])
    _count(tx, windows, counters, company.id, path, now)
    current = snap.data or {}
    if current.get("status") == SubscriptionStatus.ACTIVE.value:
        return NewsletterSubscription.model_validate(current)
    pending = current.get("status") == SubscriptionStatus.PENDING.value
    data: Data = {
        "id": path.rsplit("/", 1)[1],
        "company_id": company.id,
        "email": req.email,
        "status": SubscriptionStatus.PENDING.value,
        **(_merged(current, req) if pending else _fresh(req)),
        "signup_ip": ip,
        "signup_page_url": req.page_url,
        "nonce": current.get("nonce") if pending else random_id(16),
        "created_at": current.get("created_at") or now,
        "updated_at": now,
    }
    tx.write(Write(path, current | data, "set"))
    return NewsletterSubscription.model_validate(current | data)


def _fresh(req: SignupRequest) -> Data:
    return {"name": req.name, "frequency": req.frequency.value, "topics": list(req.topics)}


def _merged(current: Data, req: SignupRequest) -> Data:
    """A signup made again while pending adds to the first: its topics join the earlier
    ones, and a name or frequency it does not give stays as given before."""
    kept = current.get("topics")
    kept = [t for t in kept if isinstance(t, str)] if isinstance(kept, list) else []
    frequency = current.get("frequency") or req.frequency.value
    return {
        "name": req.name or current.get("name"),
        "frequency": req.frequency.value if "frequency" in req.model_fields_set else frequency,
        "topics": merged_topics(kept, list(req.topics)),
    }


def _count(
    tx: Transaction,
    windows: list[RateWindow],
    counters: list[Snapshot],
    c: str,
    key: str,
    now: datetime,
) -> None:
    """One more submission in each window (one shard of a sharded window, picked by
    ``key``); RateLimited when one is full."""
    for window in windows:
        shards, counters = counters[: window.shards], counters[window.shards :]
        shard = window.pick([int((s.data or {}).get("count", 0)) for s in shards], key)
        if shard is None:
            log.warning("newsletter signup rate limit %s hit (%s)", window.doc_id, c)
            raise RateLimited(
                "Too many submissions; please try again later.", window.retry_after(now)
            )
        data = {"count": Increment(1), "expires_at": window.expires_at}
        tx.write(Write(shards[shard].path, data, "merge"))


def _send_confirmation(
    messenger: Messenger, now: datetime, links: Links, company: Company, sub: NewsletterSubscription
) -> None:
    nonce = sub.nonce or ""
    expires = int((now + CONFIRM_TTL).timestamp())
    confirm = links.url(
        "newsletter_confirm", LinkClaims("confirm", company.id, sub.id, nonce, expires)
    )
    unsubscribe = unsubscribe_url(links, company.id, sub.id)
    subject, body = confirmation_text(
        company.name or company.id, confirm, int(CONFIRM_TTL.total_seconds() // 3600)
    )
    key = f"newsletter-confirm:{company.id}:{sub.id}:{nonce}:{now.date().isoformat()}"
    headers = (
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    messenger.send(OutboundMessage("email", sub.email, subject, body, key, headers))
    log.info("newsletter confirmation for %s of %s sent (key %s)", sub.id, company.id, key)


def unsubscribe_url(links: Links, company_id: str, sub_id: str) -> str:
    """The link ending a subscription; it never expires."""
    return links.url(
        "newsletter_unsubscribe", LinkClaims("unsubscribe", company_id, sub_id, "", None)
    )


class Confirmation(Struct, frozen=True):
    """A confirmation link's subscription; ``already`` when it was active before."""

    subscription: NewsletterSubscription
    already: bool = False


class PendingConfirmation(Struct, frozen=True):
    """What the confirmation page shows before anything changes."""

    company_name: str
    already: bool


def _confirmable(data: Data | None, claims: LinkClaims) -> bool:
    """Whether the subscription is active already; raises when the link cannot confirm."""
    if data is None:
        raise NotFound("No such subscription.")
    status = data.get("status")
    if status == SubscriptionStatus.ACTIVE.value:
        return True
    if status != SubscriptionStatus.PENDING.value or data.get("nonce") != claims.nonce:
        raise Refused("This link belongs to an earlier signup; sign up again.")
    return False


def check_confirmation(
    store: DocumentStore, now: datetime, signing_key: str, token: str
) -> PendingConfirmation:
    """Read what a confirmation link would confirm, changing nothing (the page a mail
    provider's link scanner may fetch: only its button's POST confirms).

    Raises:
        The same errors as ``confirm``.
    """
    claims = verify_link(signing_key, token, "confirm", now)
    sub, company = store.get_all(
        [
            subscription_path(claims.company_id, claims.subscription_id),
            company_path(claims.company_id),
        ]
    )
    already = _confirmable(sub.data, claims)
    return PendingConfirmation(str((company.data or {}).get("name") or ""), already)


def confirm(
    store: DocumentStore, now: datetime, signing_key: str, token: str, ip: str
) -> Confirmation:
    """Activate the subscription a confirmation link names (again: no change, ``already``).

    Raises:
        InvalidInput: A damaged or forged link. NotFound: No such subscription.
        Refused: The link expired, or belongs to an earlier signup of an address that has
            unsubscribed or signed up anew since.
    """
    claims = verify_link(signing_key, token, "confirm", now)

    def run(tx: Transaction) -> Confirmation:
        snap = tx.get(subscription_path(claims.company_id, claims.subscription_id))
        if _confirmable(snap.data, claims):
            return Confirmation(NewsletterSubscription.model_validate(snap.data), already=True)
        update = {"status": "active", "confirmed_at": now, "confirmed_ip": ip, "updated_at": now}
        tx.write(Write(snap.path, update, "update", snap.update_time))
        return Confirmation(NewsletterSubscription.model_validate((snap.data or {}) | update))

    done = store.run_transaction(run)
    sub = done.subscription
    if not done.already:
        log.info("newsletter subscription %s of %s confirmed", sub.id, sub.company_id)
    return done


class PendingUnsubscribe(Struct, frozen=True):
    """What the unsubscribe page shows before anything changes."""

    company_name: str
    already: bool


def check_unsubscribe(
    store: DocumentStore, now: datetime, signing_key: str, token: str
) -> PendingUnsubscribe:
    """Read what an unsubscribe link would end, changing nothing (the page a mail
    provider's link scanner may fetch: only its button's POST, or a mail client's
    one-click POST, unsubscribes).

    Raises:
        The same errors as ``unsubscribe``.
    """
    claims = verify_link(signing_key, token, "unsubscribe", now)
    sub, company = store.get_all(
        [
            subscription_path(claims.company_id, claims.subscription_id),
            company_path(claims.company_id),
        ]
    )
    if sub.data is None:
        raise NotFound("No such subscription.")
    already = sub.data.get("status") == SubscriptionStatus.UNSUBSCRIBED.value
    return PendingUnsubscribe(str((company.data or {}).get("name") or ""), already)


def unsubscribe(
    store: DocumentStore, now: datetime, signing_key: str, token: str
) -> NewsletterSubscription:
    """End the subscription an unsubscribe link names, recording when (once).

    Raises:
        InvalidInput: A damaged or forged link. NotFound: No such subscription.
    """
    claims = verify_link(signing_key, token, "unsubscribe", now)

    def run(tx: Transaction) -> NewsletterSubscription:
        snap = tx.get(subscription_path(claims.company_id, claims.subscription_id))
        if snap.data is None:
            raise NotFound("No such subscription.")
        if snap.data.get("status") == SubscriptionStatus.UNSUBSCRIBED.value:
            return NewsletterSubscription.model_validate(snap.data)
        update = {"status": "unsubscribed", "unsubscribed_at": now, "updated_at": now}
        tx.write(Write(snap.path, update, "update", snap.update_time))
        return NewsletterSubscription.model_validate(snap.data | update)

    sub = store.run_transaction(run)
    log.info("newsletter subscription %s of %s unsubscribed", sub.id, sub.company_id)
    return sub
