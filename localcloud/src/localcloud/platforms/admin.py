"""``/_admin``: the stand-ins' own HTTP API, for tests in another process and for people.

- ``GET /_admin``: a page of what was posted, newest first, per platform;
- ``GET /_admin/requests``, ``/_admin/posts``, ``/_admin/objects`` (``?platform=``,
  ``?kind=``): the records as JSON;
- ``POST /_admin/reset``; ``POST /_admin/fail`` ``{platform, kind, times, status,
  seconds, path}``; ``POST /_admin/grant`` ``{platform, token, subject, scopes,
  expires_in, ...}``; ``POST /_admin/expire`` and ``/_admin/revoke`` ``{platform, token}``;
  ``POST /_admin/clients`` ``{platform, client_id, client_secret, redirect_uris}``;
  ``POST /_admin/sign-in`` ``{platform, subject, ...}``.

Bad input is a 400 with ``{"error": ...}`` saying what is wrong.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from localcloud.platforms.core import Json, Reply, json_reply, text_reply

if TYPE_CHECKING:
    from localcloud.platforms.server import PlatformServer


def handle(
    server: PlatformServer, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> Reply:
    one = {k: v[0] for k, v in query.items() if v}
    try:
        if method == "GET":
            return _read(server, path, one)
        if method == "POST":
            return _act(server, path, _payload(body))
    except (KeyError, ValueError, TypeError) as err:
        return json_reply(400, {"error": str(err).strip("'\"")})
    return json_reply(405, {"error": f"{method} is not allowed on /_admin{path}"})


def _payload(body: bytes) -> Json:
    payload = json.loads(body or b"{}")
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload


def _read(server: PlatformServer, path: str, q: dict[str, str]) -> Reply:
    platform = q.get("platform")
    if path in ("", "/"):
        return text_reply(200, _page(server), "text/html; charset=utf-8")
    if path == "/requests":
        return json_reply(200, server.requests(platform))
    if path == "/posts":
        names = [platform] if platform else server.names()
        return json_reply(200, [p for n in names for p in server.posts(n)])
    if path == "/objects":
        return json_reply(200, server.objects(platform, q.get("kind")))
    return json_reply(404, {"error": f"no admin resource {path}"})


def _act(server: PlatformServer, path: str, p: Json) -> Reply:
    if path == "/reset":
        server.reset()
    elif path == "/fail":
        server.fail(
            p["platform"],
            p["kind"],
            int(p.get("times", 1)),
            status=None if p.get("status") is None else int(p["status"]),
            seconds=float(p.get("seconds", 5.0)),
            path=p.get("path", ""),
        )
    elif path == "/grant":
        fields = {k: v for k, v in p.items() if k not in ("platform", "token", "scopes")}
        scopes = p.get("scopes", ())
        scopes = scopes.split() if isinstance(scopes, str) else scopes
        server.grant(p["platform"], p["token"], scopes=tuple(scopes), **fields)
    elif path in ("/expire", "/revoke"):
        change = server.expire if path == "/expire" else server.revoke
        change(p["platform"], p["token"])
    elif path == "/clients":
        server.register_client(
            p["platform"], p["client_id"], p.get("client_secret"), tuple(p.get("redirect_uris", ()))
        )
    elif path == "/sign-in":
        fields = {k: v for k, v in p.items() if k not in ("platform", "subject")}
        server.sign_in_as(p["platform"], p["subject"], **fields)
    else:
        return json_reply(404, {"error": f"no admin action {path}"})
    return json_reply(200, {"ok": True})


_STYLE = (
    "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    ".card{border:1px solid #ccc;border-radius:8px;padding:.8rem 1rem;margin:.6rem 0}"
    ".meta{color:#666;font-size:.85rem}.title{font-weight:bold;margin:.3rem 0}"
    ".text{white-space:pre-wrap}img{max-width:16rem;display:block;margin-top:.4rem}"
    "details pre{font-size:.75rem;overflow:auto}"
)
# Where each platform keeps a post's words, title and picture (first found wins).
_TEXT = ("commentary", "text", "message", "caption", "body", "content")
_TITLE = ("title",)
_IMAGE = ("media_url", "image_url", "source_url")


def _page(server: PlatformServer) -> str:
    """What was posted, newest first, one section per platform: each post as it would
    read there (its words, title and picture), its raw record folded under it."""
    sections = []
    for name in server.names():
        cards = "".join(_card(post) for post in reversed(server.posts(name)))
        sections.append(f"<h2>{html.escape(name)}</h2>{cards or '<p>Nothing yet.</p>'}")
    return (
        "<!doctype html><meta charset=utf-8><title>What was posted</title>"
        f"<style>{_STYLE}</style><h1>What was posted</h1>{''.join(sections)}"
    )


def _card(post: Json) -> str:
    title, text, image = (_first(post, keys) for keys in (_TITLE, _TEXT, _IMAGE))
    when = _first(post, ("created_time", "date", "timestamp", "created_at", "createdAt"))
    parts = [f"<div class=meta>{html.escape(str(post.get('id', '')))} {html.escape(when)}</div>"]
    if title:
        parts.append(f"<div class=title>{html.escape(title)}</div>")
    if text:
        parts.append(f"<div class=text>{html.escape(text)}</div>")
    if image.startswith(("http://", "https://")):
        parts.append(f'<img alt="" src="{html.escape(image)}">')
    raw = html.escape(json.dumps(_shown(post), indent=1, default=str))
    parts.append(f"<details><summary>raw</summary><pre>{raw}</pre></details>")
    return f"<div class=card>{''.join(parts)}</div>"


def _first(post: Json, keys: tuple[str, ...]) -> str:
    """The first of ``keys`` the post has, as text (WordPress nests ``{"raw", ...}``)."""
    for key in keys:
        value = post.get(key)
        if isinstance(value, dict):
            value = value.get("raw") or value.get("rendered")
        if value not in (None, ""):
            return str(value)
    return ""


def _shown(post: Json) -> Json:
    return {k: v for k, v in post.items() if k not in ("platform", "kind", "seq")}
