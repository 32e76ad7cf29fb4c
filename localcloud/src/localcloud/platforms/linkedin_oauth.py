"""LinkedIn's 3-legged OAuth 2.0 and OpenID Connect user info, for the LinkedIn stand-in.

From Microsoft Learn: the authorization code flow (linkedin/shared/authentication/
authorization-code-flow): ``GET /oauth/v2/authorization`` with ``response_type=code``,
``client_id``, ``redirect_uri``, ``state`` and ``scope`` (space-separated) redirects back
with ``code`` and ``state``; ``POST /oauth/v2/accessToken`` (form: ``grant_type``,
``code``, ``redirect_uri``, ``client_id``, ``client_secret``) answers ``access_token``
and ``expires_in`` (60 days). Programmatic refresh tokens (.../programmatic-refresh-tokens):
``refresh_token`` and ``refresh_token_expires_in`` (365 days); refreshing gives a new
access token and leaves the refresh token's lifetime as it was. Errors are ``{"error",
"error_description"}``. Sign In with LinkedIn using OpenID Connect: ``GET /v2/userinfo``
answers the member's ``sub``, from which the author URN ``urn:li:person:{sub}`` is made.

Stand-in choice: every registered client gets refresh tokens (LinkedIn grants them to
approved partners).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from localcloud.platforms.core import Grant, Json, Reply, Request, json_reply, redirect, text_reply
from localcloud.platforms.oauth import OAuthError

if TYPE_CHECKING:
    from localcloud.platforms.linkedin import LinkedIn

ACCESS_TTL = 60 * 86400
REFRESH_TTL = 365 * 86400
CODE_TTL = 30 * 60


def authorize(li: LinkedIn, request: Request) -> Reply:
    try:
        target = li.oauth.authorize(
            li.name,
            request.arg,
            pkce=False,
            scope_sep=" ",
            default_subject="urn:li:person:localmember",
            ttl=CODE_TTL,
        )
    except OAuthError as err:
        return text_reply(400, f"LinkedIn: {err.description}")
    return redirect(target)


def token(li: LinkedIn, request: Request) -> Reply:
    form = {k: v[0] for k, v in request.form().items()}
    try:
        client = li.oauth.client(li.name, form.get("client_id"))
        li.oauth.authenticate(client, form.get("client_secret"))
        if form.get("grant_type") == "authorization_code":
            code = li.oauth.redeem(
                li.name,
                form.get("code"),
                client,
                form.get("redirect_uri"),
                form.get("code_verifier"),
            )
            access, renewal = li.oauth.issue(code, ACCESS_TTL, REFRESH_TTL, refresh=True)
        elif form.get("grant_type") == "refresh_token":
            renewal = li.oauth.refresh(li.name, form.get("refresh_token"), client)
            access, _ = li.oauth.issue(renewal, ACCESS_TTL, None, refresh=False)
        else:
            raise OAuthError(
                "invalid_request", "grant_type must be authorization_code or refresh_token"
            )
    except OAuthError as err:
        status = 401 if err.error == "invalid_client" else 400
        error_code = "invalid_client" if status == 401 else "invalid_request"
        return json_reply(status, {"error": error_code, "error_description": err.description})
    return json_reply(200, _token_body(access, renewal))


def userinfo(_request: Request, grant: Grant) -> Reply:
    member = grant.subject.rsplit(":", 1)[-1]
    name = grant.extra.get("name", "Local Member")
    return json_reply(
        200,
        {
            "sub": member,
            "name": name,
            "given_name": name.split()[0],
            "family_name": name.split()[-1],
            "locale": "en_US",
            "email": grant.extra.get("email", f"{member}@example.com"),
        },
    )


def _token_body(access: Grant, renewal: Grant | None) -> Json:
    body: Json = {"access_token": access.token, "expires_in": _left(access)}
    if renewal is not None:
        body |= {"refresh_token": renewal.token, "refresh_token_expires_in": _left(renewal)}
    return body | {"scope": ",".join(access.scopes)}


def _left(grant: Grant) -> int:
    """Seconds until ``grant`` expires."""
    return int((grant.expires_at or time.time()) - time.time())
