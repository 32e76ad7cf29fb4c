"""X's OAuth 2.0 Authorization Code Flow with PKCE, for the X stand-in.

From docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (and
authorization-code): ``/i/oauth2/authorize`` takes ``response_type=code``, ``client_id``,
``redirect_uri``, ``scope`` (space-separated), ``state``, ``code_challenge`` and
``code_challenge_method`` (S256 or plain) and redirects back with ``code`` and ``state``;
a code lives 30 seconds. ``POST /2/oauth2/token`` (form) redeems it with the
``code_verifier``, or takes ``grant_type=refresh_token``; a confidential client
authenticates with HTTP Basic (client id and secret), a public one sends ``client_id``.
Access tokens live two hours; a refresh token is issued with the ``offline.access`` scope
and replaced by a new one each time it is used. Errors are ``{"error",
"error_description"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.platforms.core import Reply, Request, json_reply, redirect, text_reply
from localcloud.platforms.oauth import OAuthError

if TYPE_CHECKING:
    from localcloud.platforms.x import X

ACCESS_TTL = 7200
CODE_TTL = 30.0


def authorize(x: X, request: Request) -> Reply:
    try:
        target = x.oauth.authorize(
            x.name,
            request.arg,
            pkce=True,
            scope_sep=" ",
            default_subject="2244994945",
            ttl=CODE_TTL,
        )
    except OAuthError as err:
        return text_reply(400, f"Something went wrong: {err.description}")
    return redirect(target)


def token(x: X, request: Request) -> Reply:
    form = {k: v[0] for k, v in request.form().items()}
    try:
        client = _client(x, request, form)
        if form.get("grant_type") == "authorization_code":
            found: Any = x.oauth.redeem(
                x.name,
                form.get("code"),
                client,
                form.get("redirect_uri"),
                form.get("code_verifier"),
            )
        elif form.get("grant_type") == "refresh_token":
            found = x.oauth.refresh(x.name, form.get("refresh_token"), client)
            x.tokens.set_state(x.name, found.token)  # one use: a new one replaces it
        else:
            raise OAuthError("invalid_request", "Missing required parameter [grant_type].")
    except OAuthError as err:
        status = 401 if err.error == "unauthorized_client" else 400
        return json_reply(status, {"error": err.error, "error_description": err.description})
    access, renewal = x.oauth.issue(
        found, ACCESS_TTL, None, refresh="offline.access" in found.scopes
    )
    body = {
        "token_type": "bearer",
        "expires_in": ACCESS_TTL,
        "access_token": access.token,
        "scope": " ".join(access.scopes),
    }
    return json_reply(200, body | ({"refresh_token": renewal.token} if renewal else {}))


def _client(x: X, request: Request, form: dict[str, str]) -> Any:
    """Basic auth for a confidential client, ``client_id`` alone for a public one."""
    basic = request.basic()
    client = x.oauth.client(x.name, basic[0] if basic else form.get("client_id"))
    if client.secret is not None and basic is None:
        raise OAuthError("unauthorized_client", "Missing valid authorization header")
    x.oauth.authenticate(client, basic[1] if basic else None)
    return client
