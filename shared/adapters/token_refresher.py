"""``TokenRefresher`` adapters: what renews social platforms' OAuth tokens.

``OAuthTokenRefresher`` (production) makes the OAuth 2.0 refresh-token grant (RFC 6749
section 6) at each platform's token endpoint: a form POST of
``grant_type=refresh_token&refresh_token=...``, the client authenticated with HTTP Basic
(X/Twitter's confidential clients) or with ``client_id``/``client_secret`` in the body
(LinkedIn), as ``GROWTHKIT_OAUTH_<PLATFORM>_CLIENT_AUTH`` says. The answer's
``access_token``, ``expires_in`` and, when the platform rotates it, ``refresh_token``
become a ``RefreshedToken`` (the service seals and stores both tokens). How answers map:

- 2xx with an access token: refreshed.
- ``invalid_grant`` (revoked, expired or already used refresh token), or any other 400 or
  403 refusal: ``RefreshFailed`` with the platform's ``error_description``, so the
  connection is marked ``reconnect`` with the reason.
- ``invalid_client``, ``unauthorized_client``, ``unsupported_grant_type``, a 401 without
  ``invalid_grant``, a redirect, 404 or 405: ``RefresherMisconfigured``: our client id,
  secret or token URL is wrong, which is no reason to make staff reconnect; the
  connection is left as it is and the run fails loudly.
- 429, 5xx, timeouts, connection failures, an answer without an access token:
  ``Transient``, tried again next run.

A platform without a client id and secret configured is deferred (``Transient`` naming
the settings to set). Facebook and Instagram are ``NotRenewable``, by design: they issue
long-lived access tokens without refresh tokens (Facebook extends one with
``grant_type=fb_exchange_token``, Instagram with ``ig_refresh_token``, both exchanging the
access token itself, which this port is not given), so such a connection works until its
token expires, is then marked ``expired``, and staff connect it again. (Page tokens got
through Facebook Login, ``shared.adapters.oauth_connect``, do not expire.) Neither a
token nor the client secret is ever logged or put in an error message.

Locally (``make serve``, tests) no platform is reachable, so ``LocalTokenRefresher``
stands in: it issues new opaque tokens valid for an hour, refusing refresh tokens that
name themselves revoked (``revoked...``) the way a platform answers ``invalid_grant``, so
the expiry path can be tried by hand. ``GROWTHKIT_TOKEN_REFRESHER=oauth`` uses the real
one anywhere (the integration tests point it at a local token endpoint).
"""

from __future__ import annotations

import base64
import functools
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote_plus

from msgspec import Struct

from shared.domain.integrations import (
    NotRenewable,
    RefreshedToken,
    RefresherMisconfigured,
    RefreshFailed,
)
from shared.errors import Transient
from shared.services.integrations_refresh import TokenRefresher
from shared.settings import REFRESH_PLATFORMS, Settings, get_settings

log = logging.getLogger("growthkit.integrations")

LOCAL_TOKEN_LIFETIME = timedelta(hours=1)
# Errors (RFC 6749 section 5.2) that are about our client, not about the connection.
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type"})
# Platforms without a refresh-token grant, and why their refresh is deferred.
NO_REFRESH_GRANT = {
    "facebook": "Facebook issues long-lived tokens without refresh tokens "
    "(fb_exchange_token is not used here)",
    "instagram": "Instagram issues long-lived tokens without refresh tokens "
    "(ig_refresh_token is not used here)",
}


class LocalTokenRefresher:
    """Implements ``TokenRefresher`` for the local stack."""

    def refresh(self, platform: str, refresh_token: str, now: datetime) -> RefreshedToken:
        if refresh_token.startswith("revoked"):
            raise RefreshFailed(f"{platform} answered invalid_grant: the refresh token was revoked")
        return RefreshedToken(
            access_token=f"local-{platform}-{secrets.token_urlsafe(16)}",
            expires_at=now + LOCAL_TOKEN_LIFETIME,
        )


class OAuthClient(Struct, frozen=True):
    """One platform's registered OAuth client and where it renews tokens."""

    token_url: str
    client_id: str
    client_secret: str
    auth: Literal["basic", "body"] = "basic"

    def __repr__(self) -> str:  # the secret stays out of logs
        return f"OAuthClient(token_url={self.token_url!r}, client_id={self.client_id!r})"


def oauth_clients(settings: Settings) -> dict[str, OAuthClient]:
    """The platforms with a refresh grant and a client id and secret configured."""
    clients = {}
    for platform in REFRESH_PLATFORMS:
        client_id = getattr(settings, f"oauth_{platform}_client_id").strip()
        secret = getattr(settings, f"oauth_{platform}_client_secret")
        if client_id and secret is not None and secret.get_secret_value():
            clients[platform] = OAuthClient(
                getattr(settings, f"oauth_{platform}_token_url"),
                client_id,
                secret.get_secret_value(),
                getattr(settings, f"oauth_{platform}_client_auth"),
            )
    return clients


class OAuthTokenRefresher:
    """Implements ``TokenRefresher`` with the platforms' OAuth 2.0 token endpoints."""

    def __init__(self, clients: Mapping[str, OAuthClient], timeout_seconds: float = 10.0) -> None:
        self.clients = dict(clients)
        self.timeout_seconds = timeout_seconds

    def refresh(self, platform: str, refresh_token: str, now: datetime) -> RefreshedToken:
        if platform in NO_REFRESH_GRANT:
            raise NotRenewable(NO_REFRESH_GRANT[platform])
        client = self.clients.get(platform)
        if client is None:
            prefix = f"GROWTHKIT_OAUTH_{platform.upper()}"
            raise Transient(
                f"Token refresh deferred: no OAuth client is configured for {platform} "
                f"(set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET)."
            )
        status, body = self._post(platform, client, refresh_token)
        fresh = _answer(platform, status, body, now)
        log.info(
            "%s token endpoint renewed a token (rotated: %s)", platform, bool(fresh.refresh_token)
        )
        return fresh

    def _post(
        self, platform: str, client: OAuthClient, refresh_token: str
    ) -> tuple[int, dict[str, Any]]:
        import requests

        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        headers = {"Accept": "application/json", "User-Agent": "growthkit-oauth"}
        if client.auth == "basic":
            headers["Authorization"] = basic_auth(client.client_id, client.client_secret)
        else:
            form |= {"client_id": client.client_id, "client_secret": client.client_secret}
        try:
            response = requests.post(
                client.token_url,
                data=form,
                headers=headers,
                timeout=self.timeout_seconds,
                allow_redirects=False,
            )
        except requests.Timeout as err:
            raise Transient(
                f"The {platform} token endpoint timed out after {self.timeout_seconds:g}s."
            ) from err
        except requests.RequestException as err:
            # The exception's text names the URL and the socket error, never the form.
            raise Transient(f"The {platform} token endpoint is unreachable: {err}") from err
        return response.status_code, json_object(response)


def basic_auth(client_id: str, client_secret: str) -> str:
    """HTTP Basic credentials of an OAuth client: both parts form-encoded first
    (RFC 6749 section 2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def json_object(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _answer(platform: str, status: int, body: dict[str, Any], now: datetime) -> RefreshedToken:
    """The new tokens of a successful answer; the matching error for any other."""
    error = str(body.get("error") or "")[:100]
    described = str(body.get("error_description") or body.get("message") or "")[:300]
    said = f"{error}: {described}" if error and described else error or described
    said = said or f"HTTP {status}"
    if status == 429 or status >= 500:
        raise Transient(f"The {platform} token endpoint answered {status}; retried next run.")
    if 200 <= status < 300:
        return _tokens(platform, body, now)
    if error == "invalid_grant" or (error not in CLIENT_ERRORS and status in (400, 403)):
        raise RefreshFailed(f"{platform} refused the refresh token ({said})")
    if error in CLIENT_ERRORS or status in (401, 404, 405) or 300 <= status < 400:
        raise RefresherMisconfigured(
            f"{platform} refused our OAuth client ({said}): check "
            f"GROWTHKIT_OAUTH_{platform.upper()}_CLIENT_ID, _CLIENT_SECRET and _TOKEN_URL"
        )
    raise Transient(f"The {platform} token endpoint answered {status} ({said}).")


def _tokens(platform: str, body: dict[str, Any], now: datetime) -> RefreshedToken:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise Transient(f"The {platform} token endpoint answered without an access token.")
    rotated = body.get("refresh_token")
    expires_at = None
    try:
        expires_at = now + timedelta(seconds=int(body["expires_in"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        # Kept anyway: the refresh token may have been rotated already.
        log.warning("%s token endpoint gave no usable expires_in", platform)
    return RefreshedToken(
        access_token=access,
        expires_at=expires_at,
        refresh_token=rotated if isinstance(rotated, str) and rotated else None,
    )


@functools.cache
def token_refresher() -> TokenRefresher:
    """The refresher of this instance's settings (``oauth`` in production by default)."""
    settings = get_settings()
    production = settings.environment == "production"
    kind = settings.token_refresher or ("oauth" if production else "local")
    if kind == "local":
        return LocalTokenRefresher()
    return OAuthTokenRefresher(oauth_clients(settings), settings.oauth_timeout_seconds)
