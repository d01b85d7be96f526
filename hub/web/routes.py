"""The web face's routes: the page at `/`, its static files, and sign-in/sign-out.

`POST /web/session` with `{"token"}` signs in (the cookie is set; the answer names the agent,
their roles and the CSRF token the page sends with every change; a token that grants no
role is refused with 403, as its session would open nothing); `GET /web/session` tells a
reloaded page who is signed in; `DELETE /web/session` (with the CSRF header) signs out and
revokes the session. Static files are named with a hash of all their contents (in the page
and the modules' imports), so they are cached for a year and a new version is fetched the
moment it exists.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from core.errors import AuthError, Forbidden, InvalidRequest
from core.model import Token
from hub.params import json_body
from hub.state import CLOCK, SETTINGS, STORE
from hub.tokens import digest
from hub.web.session import (
    COOKIE,
    CSRF_HEADER,
    clear_cookie,
    csrf_ok,
    csrf_token,
    is_session_secret,
    open_session,
    session_token,
    set_cookie,
)

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
IMMUTABLE = "public, max-age=31536000, immutable"


def web_routes() -> list[web.RouteDef]:
    """The face's routes, to add to the hub's app (outside /api/)."""
    files = {path.name: path.read_text(encoding="utf-8") for path in sorted(STATIC.iterdir())}
    version = hashlib.sha256("".join(files.values()).encode()).hexdigest()[:12]
    page = _versioned(files.pop("index.html"), files, version)
    assets = {
        name: (_versioned(text, files, version).encode(), TYPES[Path(name).suffix])
        for name, text in files.items()
        if Path(name).suffix in TYPES
    }

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text=page,
            content_type="text/html",
            headers={"Cache-Control": "no-cache", **_SECURITY_HEADERS},
        )

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="no such file")
        body, kind = found
        return web.Response(
            body=body, content_type=kind, charset="utf-8", headers={"Cache-Control": IMMUTABLE}
        )

    return [
        web.get("/", index),
        web.get("/web/static/{name}", asset),
        web.post("/web/session", sign_in),
        web.get("/web/session", whoami),
        web.delete("/web/session", sign_out),
    ]


_SECURITY_HEADERS = {
    # Nothing but our own files: no CDN, no inline script a stored message could smuggle in.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _versioned(text: str, files: dict[str, str], version: str) -> str:
    """`text` with `?v=VERSION` after every name of a static file in quotes (the page's links
    and the modules' imports), so a new version of any file is a new URL for all of them."""
    for name in files:
        text = text.replace(f'/{name}"', f'/{name}?v={version}"')
    return text


async def sign_in(request: web.Request) -> web.Response:
    data = await json_body(request)
    secret = data.get("token")
    if not isinstance(secret, str) or not secret.strip():
        raise InvalidRequest("token must be an agent's API token")
    store, now = request.app[STORE], request.app[CLOCK]()
    if is_session_secret(secret.strip()):
        raise AuthError("sign in with an API token, not a session's")
    token = await store.find_token(digest(secret.strip()))
    if token is None:
        raise AuthError("unknown or revoked token")
    if not token.roles:  # a session of it could open nothing on the page: say why, mint none
        raise Forbidden(
            f"{token.name}'s token grants no role; an admin gives one with "
            f"`contacthub agent add {token.name} --role agent`"
        )
    lifetime = _lifetime(request)
    session = await open_session(store, token, now, lifetime)
    response = web.json_response(_who(token, session))
    set_cookie(response, session, _secure(request), lifetime)
    return response


async def whoami(request: web.Request) -> web.Response:
    """The session's person; 204 when the browser holds no session at all (a first visit is
    no failed request in its console), 401 for one that ended (sign in again)."""
    if COOKIE not in request.cookies:
        return web.Response(status=204)
    secret, token = await _session(request)
    return web.json_response(_who(token, secret))


async def sign_out(request: web.Request) -> web.Response:
    secret, token = await _session(request)
    if not csrf_ok(secret, request.headers.get(CSRF_HEADER, "")):
        raise Forbidden(f"signing out needs the session's {CSRF_HEADER} header")
    await request.app[STORE].revoke_tokens(token.id, request.app[CLOCK]())
    response = web.Response(status=204)
    clear_cookie(response, _secure(request))
    return response


async def _session(request: web.Request) -> tuple[str, Token]:
    secret = request.cookies.get(COOKIE, "")
    store, now = request.app[STORE], request.app[CLOCK]()
    token = await session_token(store, secret, now, _lifetime(request)) if secret else None
    if token is None:
        raise AuthError("not signed in")
    return secret, token


def _who(token: Token, secret: str) -> dict[str, object]:
    return {"name": token.name, "roles": sorted(token.roles), "csrf": csrf_token(secret)}


def _lifetime(request: web.Request) -> timedelta:
    return request.config_dict[SETTINGS].web.session_lifetime


def _secure(request: web.Request) -> bool:
    public = request.app[SETTINGS].server.public_url or ""
    return request.secure or public.startswith("https://")
