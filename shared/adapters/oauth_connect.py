"""``AccountLinker`` on the platforms' OAuth endpoints and APIs (``requests``): redeem an
authorization code with its PKCE verifier, then find the account to publish as.

- LinkedIn (learn.microsoft.com/linkedin/shared/authentication/authorization-code-flow):
  ``POST`` the code to the token endpoint (form, client id and secret in it), then
  ``GET /v2/userinfo`` (OpenID Connect): the member's ``sub`` makes the author
  ``urn:li:person:{sub}``. Refresh tokens come to approved partners.
- X (docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code): ``POST`` the
  code with ``code_verifier`` to ``/2/oauth2/token`` (a confidential client in HTTP
  Basic), then ``GET /2/users/me`` for the user's id. ``offline.access`` gives a refresh
  token, renewed by ``refresh_social_tokens``.
- Facebook (facebook-login/guides/advanced/manual-flow and oidc-token; access-tokens/
  get-long-lived; pages-api): ``GET /oauth/access_token`` with the code and verifier, as
  Facebook documents it (client secret in the query, over TLS), then the same endpoint
  with ``grant_type=fb_exchange_token`` for a 60-day user token, then ``/me/accounts``
  for the Pages' tokens, which got from a long-lived user token do not expire. The Page is
  the one the admin named (``page_id``), or the only one. Instagram: that Page's
  ``instagram_business_account``, posted to with the Page token.

Answers map to errors: a refused code or grant, a missing Page or Instagram account, a
refusal of the account's own token: ``Refused`` with the platform's words (start again);
a refusal of our client (``invalid_client``...): ``Refused`` naming the settings, logged as
an error; 429, 5xx, timeouts and unreachable hosts: ``Transient``. No token, code,
verifier or secret is ever logged or put in a message (exception texts, which name the
URL, are left out for that reason). The platforms' URLs come from settings, as for
publishing (localcloud's stand-ins in tests).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.token_refresher import CLIENT_ERRORS, basic_auth, json_object
from shared.domain.oauth import SCOPES, LinkedAccount, OAuthApp
from shared.errors import DomainError, Refused, Transient
from shared.services.social_connect import START_AGAIN, CodeGrant
from shared.settings import OAUTH_PLATFORMS, Settings

log = logging.getLogger("growthkit.integrations")

Answer = tuple[int, dict[str, Any]]


def oauth_apps(settings: Settings) -> dict[str, OAuthApp]:
    """The platforms whose OAuth client (id and secret) is configured, by platform."""
    apps = {}
    for platform in OAUTH_PLATFORMS:
        client_id = getattr(settings, f"oauth_{platform}_client_id").strip()
        secret = getattr(settings, f"oauth_{platform}_client_secret")
        if client_id and secret is not None and secret.get_secret_value():
            apps[platform] = OAuthApp(
                platform,
                client_id,
                secret.get_secret_value(),
                getattr(settings, f"oauth_{platform}_authorize_url"),
                getattr(settings, f"oauth_{platform}_token_url"),
                getattr(settings, f"oauth_{platform}_client_auth", "body"),
            )
    return apps


class HttpAccountLinker:
    """Implements ``shared.services.social_connect.AccountLinker``."""

    def __init__(self, settings: Settings) -> None:
        self.linkedin_api = settings.linkedin_api_url.rstrip("/")
        self.x_api = settings.x_api_url.rstrip("/")
        self.graph = settings.facebook_graph_url.rstrip("/")
        self.timeout = settings.oauth_timeout_seconds

    def link(self, app: OAuthApp, grant: CodeGrant) -> LinkedAccount:
        if grant.platform == "linkedin":
            return self._linkedin(app, grant)
        if grant.platform == "twitter":
            return self._x(app, grant)
        return self._facebook(app, grant)

    def _linkedin(self, app: OAuthApp, grant: CodeGrant) -> LinkedAccount:
        tokens = self._redeem(app, grant, "LinkedIn")
        me = self._api("LinkedIn", "find the member", f"{self.linkedin_api}/v2/userinfo", tokens)
        member = _text(me.get("sub"), "LinkedIn", "member id")
        return _account(tokens, grant, member, me.get("name"), f"urn:li:person:{member}")

    def _x(self, app: OAuthApp, grant: CodeGrant) -> LinkedAccount:
        tokens = self._redeem(app, grant, "X")
        me = self._api("X", "find the user", f"{self.x_api}/2/users/me", tokens).get("data")
        user = me if isinstance(me, dict) else {}
        return _account(tokens, grant, _text(user.get("id"), "X", "user id"), user.get("username"))

    def _facebook(self, app: OAuthApp, grant: CodeGrant) -> LinkedAccount:
        code = {"code": grant.code, "code_verifier": grant.verifier}
        short = self._graph_token(app, code | {"redirect_uri": grant.redirect_uri})
        exchange = {"grant_type": "fb_exchange_token", "fb_exchange_token": short["access_token"]}
        user = self._graph_token(app, exchange)
        pages = self._api("Facebook", "list your Pages", f"{self.graph}/me/accounts", user)
        page = _page(pages.get("data"), grant.page_id)
        token = {"access_token": _text(page.get("access_token"), "Facebook", "Page token")}
        ig_user = self._instagram(page, token) if grant.platform == "instagram" else None
        account = _account(token, grant, ig_user or str(page["id"]), page.get("name"))
        return _with(account, page_id=str(page["id"]), ig_user_id=ig_user)

    def _instagram(self, page: dict[str, Any], token: dict[str, Any]) -> str:
        url = f"{self.graph}/{page['id']}?fields=instagram_business_account"
        found = self._api("Facebook", "find the Page's Instagram account", url, token)
        linked = found.get("instagram_business_account")
        if not isinstance(linked, dict) or not linked.get("id"):
            raise Refused(
                f"The Page {page.get('name') or page['id']} has no Instagram business "
                f"account linked: link one in the Page's settings. {START_AGAIN}"
            )
        return str(linked["id"])

    def _redeem(self, app: OAuthApp, grant: CodeGrant, name: str) -> dict[str, Any]:
        """The token endpoint's answer to the code (RFC 6749 4.1.3, RFC 7636 4.5)."""
        form = {"grant_type": "authorization_code", "code": grant.code}
        form |= {"redirect_uri": grant.redirect_uri, "code_verifier": grant.verifier}
        headers = {"Accept": "application/json"}
        if app.auth == "basic":
            headers["Authorization"] = basic_auth(app.client_id, app.client_secret)
        else:
            form |= {"client_id": app.client_id, "client_secret": app.client_secret}
        answer = self._send(name, "POST", app.token_url, data=form, headers=headers)
        return _tokens(name, answer, app)

    def _graph_token(self, app: OAuthApp, params: dict[str, Any]) -> dict[str, Any]:
        """Facebook's token endpoint: a code, or a token exchanged for a long-lived one."""
        query = {"client_id": app.client_id, "client_secret": app.client_secret} | params
        answer = self._send("Facebook", "GET", app.token_url, params=query)
        return _tokens("Facebook", answer, app)

    def _api(self, name: str, what: str, url: str, tokens: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        status, body = self._send(name, "GET", url, headers=headers)
        if not 200 <= status < 300:
            raise _refused(name, what, status, body)
        return body

    def _send(self, name: str, method: str, url: str, **kwargs: Any) -> Answer:
        import requests

        kwargs.setdefault("headers", {})["User-Agent"] = "growthkit-oauth"
        try:
            response = requests.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.Timeout as err:
            raise Transient(f"{name} did not answer in {self.timeout:g}s. {START_AGAIN}") from err
        except requests.RequestException as err:
            # Not the exception's text: it names the URL, which may carry a secret.
            log.warning("%s unreachable: %s", name, type(err).__name__)
            raise Transient(f"{name} could not be reached. {START_AGAIN}") from err
        return response.status_code, json_object(response)


def _tokens(name: str, answer: Answer, app: OAuthApp) -> dict[str, Any]:
    """A token endpoint's answer, if it gave an access token; the matching error if not."""
    status, body = answer
    if str(body.get("error") or "") in CLIENT_ERRORS or status == 401:
        log.error("%s refused our OAuth client: %s", name, _said(body, status))
        prefix = f"GROWTHKIT_OAUTH_{app.platform.upper()}"
        raise Refused(
            f"{name} refused this app ({_said(body, status)}): the operator must check "
            f"{prefix}_CLIENT_ID, {prefix}_CLIENT_SECRET and the redirect URI "
            f"registered with {name}. {START_AGAIN}"
        )
    if not 200 <= status < 300:
        raise _refused(name, "take the authorization", status, body)
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise Refused(f"{name} answered without an access token. {START_AGAIN}")
    return body


def _refused(name: str, what: str, status: int, body: dict[str, Any]) -> DomainError:
    """Why ``name`` would not ``what``: retried later (429, 5xx) or refused."""
    if status == 429 or status >= 500:
        return Transient(f"{name} could not {what} now (HTTP {status}). {START_AGAIN}")
    return Refused(f"{name} would not {what} ({_said(body, status)}). {START_AGAIN}")


def _said(body: dict[str, Any], status: int) -> str:
    """The platform's own words: OAuth's error and description, Graph's error message,
    X's problem detail, LinkedIn's message; else the status."""
    error = body.get("error")
    graph: dict[str, Any] = error if isinstance(error, dict) else {}
    parts = [
        error if isinstance(error, str) else None,
        body.get("error_description"),
        graph.get("message"),
        body.get("detail"),
        body.get("message"),
    ]
    said = ": ".join(str(p)[:300] for p in parts if p)
    return said or f"HTTP {status}"


def _text(value: Any, name: str, what: str) -> str:
    if not isinstance(value, str | int) or not str(value):
        raise Refused(f"{name} did not say the account's {what}. {START_AGAIN}")
    return str(value)


def _page(pages: Any, wanted: str | None) -> dict[str, Any]:
    """The Page to connect: the one named, else the only one the user manages."""
    found = (
        [p for p in pages if isinstance(p, dict) and p.get("id")] if isinstance(pages, list) else []
    )
    if wanted is not None:
        found = [p for p in found if str(p["id"]) == wanted]
        if not found:
            raise Refused(
                f"You do not manage the Page {wanted} (or did not allow it). {START_AGAIN}"
            )
    if not found:
        raise Refused(f"You allowed no Facebook Page: choose one when asked. {START_AGAIN}")
    if len(found) > 1:
        listed = ", ".join(f"{p.get('name')} ({p['id']})" for p in found)
        raise Refused(
            f"You manage several Pages ({listed}): start again from the app naming the "
            "page_id to connect."
        )
    page: dict[str, Any] = found[0]
    return page


def _account(
    tokens: dict[str, Any],
    grant: CodeGrant,
    user_id: str,
    username: Any,
    author_urn: str | None = None,
) -> LinkedAccount:
    refresh = tokens.get("refresh_token")
    scopes = [s for s in re.split(r"[ ,]+", str(tokens.get("scope") or "")) if s]
    return LinkedAccount(
        platform_user_id=user_id,
        access_token=str(tokens["access_token"]),
        username=str(username)[:200] if username else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=_expiry(tokens.get("expires_in"), grant.now),
        scopes=tuple(scopes[:30]) or SCOPES[grant.platform],
        author_urn=author_urn,
    )


def _expiry(expires_in: Any, now: datetime) -> datetime | None:
    try:
        return now + timedelta(seconds=int(expires_in))
    except (TypeError, ValueError, OverflowError):
        return None  # Page tokens got from a long-lived user token do not expire


def _with(account: LinkedAccount, **changes: Any) -> LinkedAccount:
    from msgspec.structs import replace

    return replace(account, **changes)
