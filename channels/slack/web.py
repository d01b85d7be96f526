"""Slack's Web API as the channel uses it: one call that never raises, the bot's own identity
(auth.test) and a cache of users' profiles (users.info).

Every call goes through slack_sdk's AsyncWebClient on a session the channel owns, to a base
URL taken from the settings (tests and the demo point it at a local emulator). Retries are
the callers' business (`retry_handlers=[]`): a users.info lookup must stay within Slack's
3-second acknowledgement window, and a reply honours Retry-After.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from core.identity import mask

log = structlog.get_logger("contacthub.slack")
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class Answer:
    """One Web API call's outcome: `error` is "" when Slack said ok."""

    status: int
    data: Mapping[str, Any]
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def transient(self) -> bool:
        """Worth another try: rate limited, Slack's own trouble, or no answer at all."""
        return self.status == 429 or self.status >= 500 or self.status == 0


def web_client(
    token: str, api_base: str, session: aiohttp.ClientSession, timeout: float = 10.0
) -> AsyncWebClient:
    base = api_base if api_base.endswith("/") else api_base + "/"
    return AsyncWebClient(
        token=token,
        base_url=base,
        session=session,
        timeout=max(1, math.ceil(timeout)),
        retry_handlers=[],
    )


async def call(method: Callable[..., Awaitable[AsyncSlackResponse]], **params: Any) -> Answer:
    """A Web API method's answer (`client.users_info` ...), whatever happened: no exception."""
    try:
        response = await method(**params)
    except SlackApiError as exc:
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        status = int(exc.response.status_code)
        reason = str(data.get("error") or f"http {status}")
        return Answer(status, data, reason, _retry_after(exc.response.headers))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Answer(0, {}, f"no answer: {type(exc).__name__} {exc}".strip())
    data = response.data if isinstance(response.data, dict) else {}
    return Answer(int(response.status_code), data)


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return None if raw is None else min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the app is in the workspace (auth.test): its messages are never tickets."""

    user_id: str
    bot_id: str
    team_id: str


async def whoami(client: AsyncWebClient) -> BotIdentity | None:
    answer = await call(client.auth_test)
    if not answer.ok:
        log.warning("slack_auth_test_failed", error=answer.error)
        return None
    get = answer.data.get
    return BotIdentity(
        str(get("user_id") or ""), str(get("bot_id") or ""), str(get("team_id") or "")
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """What users.info tells of a person: the name to show and the email to link."""

    name: str = ""
    email: str = ""


@dataclass(slots=True)
class Directory:
    """users.info behind a cache: profiles for `ttl` seconds, failed lookups for `retry`
    seconds (so a Slack outage costs one timeout per user, not one per message), and one
    lookup in flight per user however many of their messages arrive at once."""

    client: AsyncWebClient
    ttl: float = 3600.0
    retry: float = 60.0
    timeout: float = 1.0
    clock: Callable[[], float] = time.monotonic
    max_entries: int = 50_000
    _cache: dict[str, tuple[float, Profile | None]] = field(default_factory=dict)
    _pending: dict[str, asyncio.Future[Profile | None]] = field(default_factory=dict)

    async def profile(self, user: str) -> Profile | None:
        """The user's profile, or None when Slack could not tell (the ingest goes on)."""
        cached = self._cache.get(user)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        pending = self._pending.get(user)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(user))
            self._pending[user] = pending
            pending.add_done_callback(lambda _f: self._pending.pop(user, None))
        return await asyncio.shield(pending)

    async def _lookup(self, user: str) -> Profile | None:
        try:
            answer = await asyncio.wait_for(call(self.client.users_info, user=user), self.timeout)
        except TimeoutError:
            answer = Answer(0, {}, f"no answer within {self.timeout:g} s")
        profile = profile_of(answer.data.get("user")) if answer.ok else None
        if not answer.ok:
            log.warning("slack_user_lookup_failed", user=mask(user), error=answer.error)
        self._remember(user, profile, self.ttl if answer.ok else self.retry)
        return profile

    def _remember(self, user: str, profile: Profile | None, seconds: float) -> None:
        if len(self._cache) >= self.max_entries:
            self._cache.clear()  # a crude bound: a workspace's users fit many times over
        self._cache[user] = (self.clock() + seconds, profile)


def profile_of(user: object) -> Profile | None:
    if not isinstance(user, Mapping):
        return None
    profile = user.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    name = profile.get("real_name") or user.get("real_name") or profile.get("display_name")
    email = profile.get("email")
    return Profile(
        name=name if isinstance(name, str) else "",
        email=email if isinstance(email, str) else "",
    )
