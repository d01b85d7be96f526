"""Browser sessions: a token exchanged for an HttpOnly cookie, with a CSRF token beside it.

A session is a token of its own (`Store.add_token`, so it lives in the store on every
backend): signing in with an agent's token mints a new secret granting the same roles, the
cookie carries it, and signing out revokes it (`Store.revoke_tokens` by id). Revoking an
agent's tokens by name therefore ends their sessions too. A session older than `LIFETIME`
is refused (and revoked) even if never signed out. The CSRF token is an HMAC of the session
secret: nothing more to store, and a page from another origin can neither read nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from aiohttp import web

from core.model import Role, Token
from hub.tokens import digest, new_secret
from storage.base import Store

COOKIE = "contacthub_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: str) -> str:
    """The session's CSRF token: derived from its secret, checked on every change."""
    return hmac.new(secret.encode(), b"contacthub-csrf", hashlib.sha256).hexdigest()


def csrf_ok(secret: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret), given)


async def open_session(store: Store, token: Token, now: datetime) -> str:
    """A new session secret granting what `token` grants (the agent's roles, or the one
    role the token was narrowed to)."""
    role: Role | None = next(iter(token.roles)) if len(token.roles) == 1 else None
    secret = new_secret()
    await store.add_token(token.name, role, digest(secret), now)
    return secret


async def session_token(store: Store, secret: str, now: datetime) -> Token | None:
    """The live session of this cookie secret, if any; an expired one is revoked here."""
    token = await store.find_token(digest(secret))
    if token is None:
        return None
    if now - token.created_at > LIFETIME:
        await store.revoke_tokens(token.id, now)
        return None
    return token


def set_cookie(response: web.StreamResponse, secret: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="Strict",
    )


def clear_cookie(response: web.StreamResponse, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="Strict")
