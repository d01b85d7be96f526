"""Bearer-token authentication of the API and the roles' grants.

Without an Authorization header, the web face's session cookie authenticates (hub/web/
session.py): it maps to a Token as a bearer secret would, and every state-changing request
it authenticates must carry the session's CSRF token in `X-CSRF-Token` (403 otherwise).

Roles: an agent works tickets and queues; a supervisor does what an agent does and edits
rules; outbound teams run campaigns; an admin may do everything. Every role may read.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from core.errors import AuthError, Forbidden
from core.model import Role, Token
from hub.state import CLOCK, SETTINGS
from hub.tokens import digest
from hub.web.session import (
    COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    csrf_ok,
    is_session_secret,
    session_token,
)
from storage.base import Store

REQUEST_TOKEN: web.RequestKey[Token] = web.RequestKey("token", Token)

GRANTS: dict[Role, frozenset[Role]] = {
    Role.AGENT: frozenset({Role.AGENT}),
    Role.SUPERVISOR: frozenset({Role.AGENT, Role.SUPERVISOR}),
    Role.OUTBOUND: frozenset({Role.OUTBOUND}),
    Role.ADMIN: frozenset(Role),
}
_PUBLIC = frozenset({"/api/openapi.json"})


def auth_middleware(store: Store) -> Middleware:
    """Every API request but the OpenAPI document needs a live bearer token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in _PUBLIC:
            request[REQUEST_TOKEN] = await _authenticate(store, request)
        return await handler(request)

    return middleware


async def _authenticate(store: Store, request: web.Request) -> Token:
    if "Authorization" not in request.headers and COOKIE in request.cookies:
        return await _from_cookie(store, request, request.cookies[COOKIE])
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("a bearer token is required")
    if is_session_secret(secret.strip()):  # it would skip the session's end and CSRF check
        raise AuthError("a web session works only as the page's cookie, not as a bearer token")
    token = await store.find_token(digest(secret.strip()))
    if token is None:
        raise AuthError("unknown or revoked token")
    return token


async def _from_cookie(store: Store, request: web.Request, secret: str) -> Token:
    lifetime = request.config_dict[SETTINGS].web.session_lifetime
    token = await session_token(store, secret, request.config_dict[CLOCK](), lifetime)
    if token is None:
        raise AuthError("the session has ended: sign in again")
    if request.method not in SAFE_METHODS and not csrf_ok(
        secret, request.headers.get(CSRF_HEADER, "")
    ):
        raise Forbidden(f"a change made with a session cookie needs its {CSRF_HEADER} header")
    return token


def granted(token: Token, role: Role) -> bool:
    """Whether one of the token's roles may do what `role` may."""
    return any(role in GRANTS[held] for held in token.roles)


def require(request: web.Request, role: Role) -> Token:
    """The caller's token, if one of its roles grants `role`; Forbidden otherwise."""
    token = request[REQUEST_TOKEN]
    if not granted(token, role):
        raise Forbidden(f"{roles_text(token)} may not do this (needs {role})")
    return token


def roles_text(token: Token) -> str:
    """The token's roles as an error names them."""
    if not token.roles:
        return f"{token.name}, who holds no role,"
    return "role " + ", ".join(sorted(token.roles))
