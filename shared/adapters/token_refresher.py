"""``TokenRefresher`` adapters: what renews social platforms' OAuth tokens.

Locally (``make serve``, tests) no platform is reachable, so ``LocalTokenRefresher``
stands in: it issues new opaque tokens valid for an hour, refusing refresh tokens that
name themselves revoked (``revoked...``) the way a platform answers ``invalid_grant``, so
the expiry path can be tried by hand. Production has no refresher configured yet (each
platform needs its OAuth client registered): there every refresh is deferred with a
warning rather than handing out fake tokens or marking connections expired.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta

from shared.domain.integrations import RefreshedToken, RefreshFailed
from shared.errors import Transient
from shared.services.integrations_refresh import TokenRefresher
from shared.settings import get_settings

LOCAL_TOKEN_LIFETIME = timedelta(hours=1)


class LocalTokenRefresher:
    """Implements ``TokenRefresher`` for the local stack."""

    def refresh(self, platform: str, refresh_token: str, now: datetime) -> RefreshedToken:
        if refresh_token.startswith("revoked"):
            raise RefreshFailed(f"{platform} answered invalid_grant: the refresh token was revoked")
        return RefreshedToken(
            access_token=f"local-{platform}-{secrets.token_urlsafe(16)}",
            expires_at=now + LOCAL_TOKEN_LIFETIME,
        )


class UnconfiguredRefresher:
    """Implements ``TokenRefresher`` where no platform client is configured."""

    def refresh(self, platform: str, refresh_token: str, now: datetime) -> RefreshedToken:
        raise Transient(f"No token refresher is configured for {platform} in production.")


@functools.cache
def token_refresher() -> TokenRefresher:
    """The refresher of this instance's environment."""
    if get_settings().environment == "production":
        return UnconfiguredRefresher()
    return LocalTokenRefresher()
