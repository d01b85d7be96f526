"""Browser sessions: a token exchanged for an HttpOnly cookie, with a CSRF token beside it.

A session is a token of its own (`Store.add_token`, so it lives in the store on every
backend): signing in with an agent's token mints a new secret granting the same roles, the
cookie carries it, and signing out revokes it (`Store.revoke_tokens` by id). Revoking an
agent's tokens by name therefore ends their sessions too. A session ends `lifetime` after it
began (the `[web] session_lifetime` setting): an ended one is refused and revoked when it
comes back, and `purge_sessions` revokes the ones that never come back. A checkpoint marks
each session's token in the store (`web_session:ID`, its end), so any hub tells a session
from an API token. A session's secret carries its own prefix and works only as the cookie,
never as a bearer token (which would skip both the end and the CSRF check). The CSRF token
is an HMAC of the session secret: nothing more to store, and a page from another origin can
neither read nor forge it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import structlog
from aiohttp import web

from core.errors import HubError
from core.model import Role, Token
from hub.background import Failed, running, unheard
from hub.settings.tree import WebSettings
from hub.tokens import digest
from storage.base import Store

log = structlog.get_logger("contacthub.web")

COOKIE = "contacthub_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PREFIX = "chs_"  # not a secret: how a session's secret is told apart
MARKER = "web_session:"


def csrf_token(secret: str) -> str:
    """The session's CSRF token: derived from its secret, checked on every change."""
    return hmac.new(secret.encode(), b"contacthub-csrf", hashlib.sha256).hexdigest()


def csrf_ok(secret: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret), given)


def is_session_secret(secret: str) -> bool:
    return secret.startswith(SESSION_PREFIX)


def marker(token_id: int) -> str:
    """The checkpoint that marks token `token_id` as a web session."""
    return f"{MARKER}{token_id}"


async def open_session(store: Store, token: Token, now: datetime, lifetime: timedelta) -> str:
    """A new session secret granting what `token` grants (the agent's roles, or the one
    role the token was narrowed to), marked as a session until `now + lifetime`."""
    role: Role | None = next(iter(token.roles)) if len(token.roles) == 1 else None
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    session = await store.add_token(token.name, role, digest(secret), now)
    await store.set_checkpoint(marker(session.id), (now + lifetime).isoformat())
    return secret


async def session_token(
    store: Store, secret: str, now: datetime, lifetime: timedelta
) -> Token | None:
    """The live session of this cookie secret, if any; an ended one is revoked here."""
    if not is_session_secret(secret):
        return None
    token = await store.find_token(digest(secret))
    if token is None:
        return None
    if now - token.created_at > lifetime:
        await store.revoke_tokens(token.id, now)
        return None
    return token


async def purge_sessions(
    store: Store, now: datetime, lifetime: timedelta, not_sessions: set[int]
) -> int:
    """Revoke every live session older than `lifetime`; how many. API tokens are never
    touched: only tokens marked as sessions are; `not_sessions` remembers the unmarked ones
    found, so each is looked up once per hub."""
    revoked = 0
    for info in await store.list_tokens():
        if info.revoked_at is not None or info.id in not_sessions:
            continue
        if now - info.created_at <= lifetime:
            continue
        if await store.get_checkpoint(marker(info.id)) is None:
            not_sessions.add(info.id)
            continue
        revoked += len(await store.revoke_tokens(info.id, now))
    return revoked


def purging(
    store: Store, settings: WebSettings, clock: Callable[[], datetime], failed: Failed = unheard
) -> AsyncIterator[None]:
    """Purge ended sessions every `session_purge_interval` while the app runs (a
    `cleanup_ctx` body); a failing round is logged and the next one tries again."""
    not_sessions: set[int] = set()

    async def loop() -> None:
        while True:
            try:
                revoked = await purge_sessions(
                    store, clock(), settings.session_lifetime, not_sessions
                )
            except (HubError, OSError) as exc:  # storage away: the next round retries
                log.warning("web_session_purge_failed", error=str(exc))
            else:
                if revoked:
                    log.info("web_sessions_purged", revoked=revoked)
            await asyncio.sleep(settings.session_purge_interval.total_seconds())

    return running(loop, failed=failed)


def set_cookie(
    response: web.StreamResponse, secret: str, secure: bool, lifetime: timedelta
) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="Strict",
    )


def clear_cookie(response: web.StreamResponse, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="Strict")
