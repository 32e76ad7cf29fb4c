"""OAuth 2.0 authorization codes as the platforms run them (RFC 6749 section 4.1, with
PKCE from RFC 7636): registered clients and redirect URIs, a consent step that approves
as whoever a test signed in, single-use codes bound to client and redirect URI, and
access/refresh tokens recorded in the shared ``Tokens``.

Each platform module decides its own parameters, lifetimes and error bodies; this module
only says what is wrong (``OAuthError`` with an RFC 6749 error code and a description).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from localcloud.platforms.core import Grant, Json, TokenRefused, Tokens


class OAuthError(Exception):
    """``error`` is the RFC 6749 code (invalid_request, invalid_client, invalid_grant...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass
class Client:
    platform: str
    client_id: str
    secret: str | None  # None: a public client (X's native and browser apps)
    redirect_uris: tuple[str, ...]


@dataclass
class Code:
    platform: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    subject: str
    extra: Json
    challenge: str
    method: str
    expires_at: float
    used: bool = False


def s256(verifier: str) -> str:
    """PKCE's S256 challenge of ``verifier``: BASE64URL(SHA256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def with_params(url: str, params: dict[str, str | None]) -> str:
    """``url`` with ``params`` appended to its query (redirect URIs may carry their own)."""
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode({k: v for k, v in params.items() if v is not None})


class OAuth:
    """Clients, signed-in users and codes of every platform; thread-safe."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Client] = {}
        self._users: dict[str, tuple[str, Json]] = {}
        self._codes: dict[str, Code] = {}

    def register(self, client: Client) -> Client:
        with self._lock:
            self._clients[(client.platform, client.client_id)] = client
        return client

    def sign_in(self, platform: str, subject: str, extra: Json) -> None:
        """Who approves the next consent screens of ``platform``."""
        with self._lock:
            self._users[platform] = (subject, extra)

    def signed_in(self, platform: str, default: str) -> tuple[str, Json]:
        with self._lock:
            return self._users.get(platform, (default, {}))

    def client(self, platform: str, client_id: str | None) -> Client:
        with self._lock:
            found = self._clients.get((platform, client_id or ""))
        if found is None:
            raise OAuthError("invalid_client", f"Unknown client_id {client_id!r}.")
        return found

    def check_redirect(self, client: Client, redirect_uri: str | None) -> str:
        if not redirect_uri or redirect_uri not in client.redirect_uris:
            raise OAuthError(
                "invalid_request", f"redirect_uri {redirect_uri!r} is not registered for the app."
            )
        return redirect_uri

    def authenticate(self, client: Client, secret: str | None) -> None:
        """A confidential client must present its secret; a public one has none to show."""
        if client.secret is not None and not hmac.compare_digest(
            client.secret.encode(), (secret or "").encode()
        ):
            raise OAuthError("invalid_client", "Client authentication failed.")

    def authorize(
        self,
        platform: str,
        arg: Callable[[str], str | None],
        *,
        pkce: bool,
        scope_sep: str,
        default_subject: str,
        ttl: float,
    ) -> str:
        """Where the consent screen sends the browser: the redirect URI with ``code`` and
        ``state``, or with ``error``. ``OAuthError`` when there is no trusted redirect URI
        (unknown client, unregistered URI): the platform shows its own error page."""
        client = self.client(platform, arg("client_id"))
        redirect_uri = self.check_redirect(client, arg("redirect_uri"))
        state = arg("state")
        try:
            challenge, method = _challenge(arg, pkce)
            if arg("response_type") != "code":
                raise OAuthError("unsupported_response_type", "response_type must be code.")
        except OAuthError as err:
            refusal = {"error": err.error, "error_description": err.description, "state": state}
            return with_params(redirect_uri, refusal)
        subject, extra = self.signed_in(platform, default_subject)
        scopes = tuple(s for s in (arg("scope") or "").split(scope_sep) if s)
        grant = (platform, client.client_id, redirect_uri, scopes, subject, dict(extra))
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = Code(*grant, challenge, method, time.time() + ttl)
        return with_params(redirect_uri, {"code": code, "state": state})

    def redeem(
        self,
        platform: str,
        code: str | None,
        client: Client,
        redirect_uri: str | None,
        verifier: str | None,
    ) -> Code:
        """The code's grant, once: wrong client, redirect URI or PKCE verifier refuse it."""
        with self._lock:
            entry = self._codes.get(code or "")
            if entry is None or entry.platform != platform or entry.used:
                raise OAuthError("invalid_grant", "The authorization code is invalid or used.")
            entry.used = True  # even a failed redemption burns the code, as RFC 6749 asks
        if entry.expires_at <= time.time():
            raise OAuthError("invalid_grant", "The authorization code has expired.")
        if entry.client_id != client.client_id or entry.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "client_id or redirect_uri does not match the code.")
        _check_verifier(entry, verifier)
        return entry

    def issue(
        self, code: Code | Grant, ttl: float | None, refresh_ttl: float | None, refresh: bool
    ) -> tuple[Grant, Grant | None]:
        """An access token (and a refresh token when ``refresh``) for a code or a grant."""
        now = time.time()
        access = Grant(
            code.platform,
            "lc-" + secrets.token_urlsafe(24),
            code.subject,
            code.scopes,
            None if ttl is None else now + ttl,
            client_id=code.client_id,
            extra=dict(code.extra),
        )
        self.tokens.add(access)
        if not refresh:
            return access, None
        renewal = Grant(**(access.__dict__ | {"token": "lcr-" + secrets.token_urlsafe(24)}))
        renewal.kind = "refresh"
        renewal.expires_at = None if refresh_ttl is None else now + refresh_ttl
        renewal.extra = dict(code.extra)
        return access, self.tokens.add(renewal)

    def refresh(self, platform: str, token: str | None, client: Client) -> Grant:
        """The refresh grant behind ``token``, if it belongs to ``client``."""
        try:
            grant = self.tokens.check(platform, token, kind="refresh")
        except TokenRefused as err:
            raise OAuthError("invalid_grant", f"The refresh token is {err.reason}.") from err
        if grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "The refresh token was issued to another client.")
        return grant

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()
            self._users.clear()
            self._codes.clear()


def _check_verifier(entry: Code, verifier: str | None) -> None:
    if not entry.challenge:
        return
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required for this code.")
    expected = s256(verifier) if entry.method.upper() == "S256" else verifier
    if not hmac.compare_digest(expected.encode(), entry.challenge.encode()):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")


def _challenge(arg: Callable[[str], str | None], required: bool) -> tuple[str, str]:
    """The PKCE challenge and method of an authorization request (RFC 7636 section 4.3)."""
    challenge = arg("code_challenge") or ""
    method = arg("code_challenge_method") or ("plain" if challenge else "")
    if required and not challenge:
        raise OAuthError("invalid_request", "code_challenge is required (PKCE).")
    if challenge and method not in ("S256", "plain"):
        raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain.")
    return challenge, method
