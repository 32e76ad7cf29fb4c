"""Connecting social accounts by OAuth 2.0: the authorization code grant (RFC 6749
section 4.1) with PKCE (RFC 7636, ``S256``), as LinkedIn, X and Facebook run it.

An admin asks for an authorization URL; the answer carries a ``state`` that names the
company and a random token, bound server-side (``companies/{c}/oauth_states/{id}``, the
id a hash of the token) to the staff member, the connection, the platform and the PKCE
verifier, single-use and valid ``STATE_TTL``. The platform sends the browser back to the
public callback with ``code`` and ``state``; only a known, unused, unexpired state is
exchanged, with its verifier. Instagram business accounts are reached through a Facebook
Page (Facebook Login, the Page's ``instagram_business_account``), so ``instagram`` uses
Facebook's app.
"""

import base64
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from msgspec import Struct
from pydantic import Field

from shared.domain.common import RequestModel, StoredModel, is_document_id

STATE_TTL = timedelta(minutes=10)
# The OAuth app each kind of connection goes through.
APP_OF = {
    "linkedin": "linkedin",
    "twitter": "twitter",
    "facebook": "facebook",
    "instagram": "facebook",
}
NAMES = {"linkedin": "LinkedIn", "twitter": "X", "facebook": "Facebook", "instagram": "Instagram"}
# What publishing needs of each: LinkedIn's member posts and OpenID user info; X's posts,
# the user and a refresh token; a Page's posts; an Instagram account's publishing.
SCOPES = {
    "linkedin": ("openid", "profile", "w_member_social"),
    "twitter": ("tweet.read", "tweet.write", "users.read", "offline.access"),
    "facebook": ("pages_show_list", "pages_read_engagement", "pages_manage_posts"),
    "instagram": (
        "pages_show_list",
        "pages_read_engagement",
        "instagram_basic",
        "instagram_content_publish",
    ),
}
_LABEL = re.compile(r"^[a-z0-9]{1,20}$")


class OAuthApp(Struct, frozen=True):
    """One platform's registered OAuth client: where it authorizes and redeems codes."""

    platform: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    auth: str = "body"  # how the token endpoint takes the client: "basic" or "body"

    def __repr__(self) -> str:  # the secret stays out of logs
        return f"OAuthApp(platform={self.platform!r}, client_id={self.client_id!r})"


class AuthorizeRequest(RequestModel):
    """What an admin may add when asking to connect: the Facebook Page to connect (or whose
    Instagram account), when the signed-in user manages several."""

    page_id: str | None = Field(default=None, pattern=r"^[0-9]{1,40}$")


class CallbackQuery(RequestModel):
    """What a platform sends the browser back with (RFC 6749 4.1.2 and 4.1.2.1)."""

    state: str = Field(default="", max_length=400)
    code: str | None = Field(default=None, min_length=1, max_length=2000)
    error: str | None = Field(default=None, max_length=100)
    error_description: str | None = Field(default=None, max_length=500)


class OAuthState(StoredModel):
    """An authorization in progress, as stored (the verifier sealed)."""

    company_id: str
    connection_id: str
    platform: str
    label: str | None = None
    staff_uid: str
    verifier: dict[str, Any]
    redirect_uri: str
    page_id: str | None = None
    expires_at: datetime
    used_at: datetime | None = None


class LinkedAccount(Struct, frozen=True):
    """The account a platform connected: who it is and its tokens (kept out of ``repr``)."""

    platform_user_id: str
    access_token: str
    username: str | None = None
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    author_urn: str | None = None
    page_id: str | None = None
    ig_user_id: str | None = None

    def __repr__(self) -> str:
        return f"LinkedAccount(platform_user_id={self.platform_user_id!r})"


def connection_target(connection_id: str) -> tuple[str, str | None]:
    """The platform and label of a connection id (``linkedin``, ``facebook-shop``; ``x``
    is ``twitter``); ``ValueError`` for one that cannot be connected by OAuth."""
    platform, dash, label = connection_id.partition("-")
    platform = "twitter" if platform == "x" else platform
    if platform not in APP_OF or (dash and not _LABEL.match(label)):
        names = ", ".join(sorted(APP_OF))
        raise ValueError(
            f"{connection_id!r} cannot be connected by OAuth: use {names} (or x), with "
            "'-<label>' for a second account; WordPress and webhooks take their "
            "credentials by POST"
        )
    return platform, label or None


def new_verifier() -> str:
    """A PKCE code verifier: 64 characters of [A-Za-z0-9_-] (RFC 7636 asks 43 to 128)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The ``S256`` challenge: BASE64URL(SHA256(ASCII(verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state(company_id: str) -> tuple[str, str]:
    """A new ``state`` (``{companyId}.{random}``) and the id its record is stored under."""
    token = secrets.token_urlsafe(32)
    return f"{company_id}.{token}", state_id(token)


def state_id(token: str) -> str:
    """The record's id: a hash of the token, so what is stored cannot be replayed."""
    return hashlib.sha256(f"oauth-state\x00{token}".encode()).hexdigest()[:40]


def state_ref(state: str) -> tuple[str, str] | None:
    """The company and record id a ``state`` names; None for one we cannot have made."""
    company_id, dot, token = state.rpartition(".")
    if not dot or not 20 <= len(token) <= 100 or not is_document_id(company_id):
        return None
    return company_id, state_id(token)


def state_path(company_id: str, record_id: str) -> str:
    return f"companies/{company_id}/oauth_states/{record_id}"


def state_refusal(state: OAuthState | None, now: datetime) -> str | None:
    """Why a callback's state is not honoured (unknown, used, expired), or None."""
    if state is None:
        return "unknown"
    if state.used_at is not None:
        return "used"
    return "expired" if state.expires_at <= now else None


def authorize_url(
    app: OAuthApp, platform: str, state: str, challenge: str, redirect_uri: str
) -> str:
    """The platform's authorization page for this request (scopes comma-separated for
    Facebook, space-separated elsewhere, as each documents)."""
    separator = "," if app.platform == "facebook" else " "
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": separator.join(SCOPES[platform]),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    joiner = "&" if "?" in app.authorize_url else "?"
    return app.authorize_url + joiner + urlencode(params)
