"""Slack chat through the Events API: slack-bolt's AsyncApp mounted inside the hub's aiohttp app.

    POST /webhooks/slack/events
    X-Slack-Request-Timestamp: <epoch seconds>
    X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the signing secret>

The signature and its 5-minute replay window are checked here, before bolt sees the request,
so a forged or stale request is a SignatureError (403 through the hub's error middleware)
and never reaches a listener, let alone the sink. Bolt then answers url_verification and
dispatches events to our listeners with `process_before_response=True`: the answer is
built only after the listener returned, that is after the commit. A listener's error is kept
in the request's context and raised again here, so the error middleware maps it too
(StorageUnavailable: 503, and Slack retries). Bolt's own server is never used: two pure
functions convert between aiohttp and bolt.

Events the hub has no use for (joins, reactions, bots, other channels) are acknowledged
with an empty 200, so Slack neither retries them nor disables the subscription. A `message`
event, the one the hub takes, is the exception to going through bolt: it goes straight to
the listener (`on_message`), bolt's dispatch being most of the channel's own cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, Protocol

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_user_id
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from channels.base import (
    Dropped,
    DropReport,
    Sink,
    json_object,
    read_body,
    same_digest,
    unreported,
    utcnow,
)
from channels.slack.events import NAME, Edit, Ignored, Scope, Speech, parse_event
from channels.slack.socket_mode import socket_mode
from channels.slack.web import BotIdentity, Directory, Profile, web_client, whoami
from core.errors import PayloadError, SignatureError
from core.identity import email_identity
from core.json_text import dumps
from core.model import Inbound, IngestResult, Message, ascii_digits

PATH = "/webhooks/slack/events"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
REPLAY_WINDOW = 300  # seconds: Slack's own rule for how old a signed request may be
_FAILURE = "contacthub_failure"
_RESULT = "contacthub_result"

log = structlog.get_logger("contacthub.slack")


class MessageEdits(Protocol):
    async def edit_message(self, key: str, body: str | None, at: datetime) -> Message | None:
        """Record an edit or (body None) a deletion of a stored inbound message."""


@dataclass(frozen=True, slots=True)
class SlackSignature:
    """Slack's request signing: v0 HMAC-SHA256 over `v0:{timestamp}:{body}`."""

    signing_secret: str = field(repr=False)
    clock: Callable[[], datetime] = utcnow

    def verify(self, body: str, timestamp: str | None, signature: str | None) -> None:
        if not timestamp or not signature:
            raise SignatureError("missing X-Slack-Signature or X-Slack-Request-Timestamp", NAME)
        if not ascii_digits(timestamp) or len(timestamp) > 12:
            raise SignatureError("X-Slack-Request-Timestamp is not a time", NAME)
        age = self.clock().timestamp() - int(timestamp)
        if abs(age) > REPLAY_WINDOW:
            raise SignatureError(f"request timestamp is {age:.0f} s off: stale or replayed", NAME)
        verifier = SignatureVerifier(self.signing_secret)
        expected = verifier.generate_signature(timestamp=timestamp, body=body)
        if expected is None or not same_digest(expected, signature):
            raise SignatureError("signature does not match the body", NAME)


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8: {exc}", NAME) from exc


def payload_of(body: str) -> dict[str, Any]:
    """The request's JSON object; PayloadError for a body that is none, or an `event` that
    is not an object (bolt's context builder would fail on it)."""
    payload = json_object(body.encode(), NAME, surrogates=True)  # text repaired: events.py
    if not isinstance(payload.get("event", {}), dict):
        raise PayloadError("event must be an object", NAME)
    return payload


def is_message(payload: Mapping[str, Any]) -> bool:
    """An Events API `message` event (any subtype): what the hub's listener takes."""
    event = payload.get("event")
    return (
        payload.get("type") == "event_callback"
        and isinstance(event, dict)
        and (event.get("type") == "message")
    )


def to_bolt_request(body: str, headers: Mapping[str, str], query: str = "") -> AsyncBoltRequest:
    """An aiohttp request's parts as bolt's request; PayloadError for what bolt cannot read
    (bolt parses the body again: its shape is checked here first)."""
    payload_of(body)
    try:
        return AsyncBoltRequest(body=body, query=query, headers={k: headers[k] for k in headers})
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        # bolt reads authorizations, enterprise, team ... assuming Slack's shapes: another
        # shape (say `"authorizations": false`) fails inside it, and is the sender's error.
        raise PayloadError(
            f"body has a shape Slack never sends ({type(exc).__name__})", NAME
        ) from exc


def to_aiohttp_response(response: BoltResponse) -> web.Response:
    """Bolt's answer as aiohttp's (Events API answers carry no cookies)."""
    headers = {k: v[0] for k, v in response.headers.items() if v and k != "content-type"}
    content_type = response.headers.get("content-type", ["text/plain"])[0].split(";")[0]
    return web.Response(
        status=response.status,
        body=response.body.encode(),
        headers=headers,
        content_type=content_type,
    )


def with_profile(inbound: Inbound, profile: Profile | None) -> Inbound:
    """users.info's name and email added to a contact (a bad email is left out, not fatal)."""
    if profile is None:
        return inbound
    identities = inbound.identities
    if profile.email:
        with contextlib.suppress(PayloadError):
            identities = (*identities, email_identity(profile.email))
    return replace(inbound, sender_name=profile.name or inbound.sender_name, identities=identities)


@dataclass(slots=True)
class SlackChannel:
    signing_secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    edits: MessageEdits
    api_base: str = "https://slack.com/api/"
    scope: Scope = field(default_factory=Scope)
    max_body_bytes: int = 1_048_576
    user_cache_ttl: float = 3600.0
    lookup_timeout: float = 1.0
    clock: Callable[[], datetime] = utcnow
    name: ClassVar[str] = NAME
    app_token: str | None = field(default=None, repr=False)  # set: Socket Mode, no webhook
    bot: BotIdentity | None = None
    _directory: Directory | None = field(default=None, repr=False)
    dropped: DropReport = unreported

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        if self.app_token:
            return []  # Socket Mode: events come over the connection `serve` opens
        bolt = self.bolt_app(sink)
        signature = SlackSignature(self.signing_secret, self.clock)

        async def receive(request: web.Request) -> web.Response:
            body = decode(await read_body(request, self.max_body_bytes, NAME))
            headers = request.headers
            signature.verify(body, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER))
            payload = payload_of(body)
            if is_message(payload):  # the hot path: straight to the listener, as bolt would
                return self.answered(await self.on_message(payload, sink))
            bolt_request = to_bolt_request(body, headers, request.query_string)
            return self.answer(bolt_request, await bolt.async_dispatch(bolt_request))

        return [web.post(PATH, receive)]

    def answer(self, request: AsyncBoltRequest, response: BoltResponse) -> web.Response:
        """The listener's error raised for the error middleware, else the commit's result."""
        failure = request.context.get(_FAILURE)
        if isinstance(failure, BaseException):
            raise failure
        result = request.context.get(_RESULT)
        if isinstance(result, IngestResult):
            return self.answered(result)
        return to_aiohttp_response(response)

    @staticmethod
    def answered(result: IngestResult | None) -> web.Response:
        """The commit's result, or bolt's empty acknowledgement when nothing was stored."""
        if result is None:
            return web.Response(status=200, content_type="text/plain")
        return web.json_response(
            {"ticket_id": result.ticket_id, "outcome": result.outcome}, dumps=dumps
        )

    async def on_message(self, payload: Mapping[str, Any], sink: Sink) -> IngestResult | None:
        """A message event as bolt's `message` listener takes it, without bolt's dispatch:
        its authorize, middleware chain, matchers and keyword injection, built per event,
        cost about a sixth of the hub's CPU per message. Bolt's one rule on the way that
        applies, its own events dropped unseen, is kept; every other request (the URL
        check, other events, Socket Mode) still goes through bolt."""
        if self._from_self(payload):
            return None
        return await self.handle(payload, sink)

    def _from_self(self, payload: Mapping[str, Any]) -> bool:
        """The app's own message, as bolt's `ignoring_self_events` tells it (by the user
        bolt reads from the body, or the event's bot id)."""
        bot = self.bot
        if bot is None:
            return False
        user = extract_user_id(dict(payload))
        return (user is not None and user == bot.user_id) or (
            payload["event"].get("bot_id") == bot.bot_id
        )

    def bolt_app(self, sink: Sink) -> AsyncApp:
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return self.authorization(enterprise_id, team_id)  # bolt injects by parameter name

        app = AsyncApp(
            name="contacthub",
            process_before_response=True,  # answer after the commit, never before
            request_verification_enabled=False,  # SlackSignature did, mapped to our 403
            authorize=authorize,
            url_verification_enabled=True,
            ignoring_self_events_enabled=True,
            # Not for the Events API: slash commands, workflow functions, AI assistant threads.
            ssl_check_enabled=False,
            attaching_function_token_enabled=False,
            attaching_conversation_kwargs_enabled=False,
        )

        async def on_message(body: dict[str, Any], context: dict[str, Any]) -> None:
            context[_RESULT] = await self.handle(body, sink)

        async def on_other_event(event: dict[str, Any]) -> None:
            # acknowledged, so Slack does not retry what the hub does not use; counted
            kind = str(event.get("type"))[:40]
            self.dropped(Dropped(NAME, "not_a_message", f"event {kind}"))

        async def keep_error(error: Exception, request: AsyncBoltRequest) -> None:
            request.context[_FAILURE] = error

        app.event("message")(on_message)
        app.event(re.compile(".*"))(on_other_event)
        app.error(keep_error)
        return app

    async def handle(self, body: Mapping[str, Any], sink: Sink) -> IngestResult | None:
        """One message event: a contact for the sink, an edit for the store, or nothing."""
        event = parse_event(body, self.clock(), self.scope)
        if isinstance(event, Ignored):
            log.debug("slack_event_ignored", reason=event.reason)
            self.dropped(Dropped(NAME, event.kind, event.reason, event.setting))
            return None
        if isinstance(event, Edit):
            if await self.edits.edit_message(event.key, event.body, event.at) is None:
                log.debug("slack_edit_of_unknown_message", key=event.key)
                what = "edit or deletion of a message the hub never stored"
                self.dropped(Dropped(NAME, "edit_of_unknown_message", what))
            return None
        return await sink(with_profile(event.inbound, await self._profile(event)))

    async def _profile(self, speech: Speech) -> Profile | None:
        if self._directory is None:
            return None
        return await self._directory.profile(speech.user)

    def authorization(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """The bot as bolt's self-event filter knows it (auth.test, once it answered)."""
        bot = self.bot
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=self.bot_token,
            bot_user_id=bot.user_id if bot else None,
            bot_id=bot.bot_id if bot else None,
        )

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=max(self.lookup_timeout, 1.0) * 2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            client = web_client(self.bot_token, self.api_base, session, self.lookup_timeout)
            self._directory = Directory(client, self.user_cache_ttl, timeout=self.lookup_timeout)
            identify = asyncio.create_task(self._identify(client), name="slack-auth-test")
            try:
                async with self._socket(sink, client):
                    yield
            finally:
                identify.cancel()
                self._directory = None

    def _socket(self, sink: Sink, client: AsyncWebClient) -> AbstractAsyncContextManager[None]:
        if not self.app_token:
            return contextlib.nullcontext()
        return socket_mode(self.bolt_app(sink), self.app_token, client)

    async def _identify(self, client: AsyncWebClient) -> None:
        """auth.test until it answers: the bot's ids make bolt drop the app's own events."""
        delay = 1.0
        while self.bot is None:
            self.bot = await whoami(client)
            if self.bot is None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300.0)
