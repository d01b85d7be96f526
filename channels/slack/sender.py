"""Agents' replies on Slack: chat.postMessage into the customer's thread, with the bot token.

    POST {api_base}chat.postMessage   {"channel", "text", "thread_ts"?}

A reply goes to the conversation and thread of the customer's latest message on the ticket
(a direct message outside a thread is answered in the conversation itself). 429 answers
(after their Retry-After), 5xx answers and network errors are tried again with backoff; any
other refusal (`channel_not_found`, `not_in_channel`, `invalid_auth` ...) is final. Either way
a failure comes back as a failed Delivery with Slack's error code, which the hub records on
the message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.events import MAX_TEXT_CHARS, NAME
from channels.slack.web import Answer, call, web_client
from core.errors import Conflict, InvalidRequest
from core.identity import SLACK
from core.model import Delivery, Direction, Identity, Message, Ticket


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """Where a reply goes: the customer, their conversation and (if any) the thread."""

    user: str
    channel: str
    thread_ts: str


def reply_route(ticket: Ticket) -> ReplyRoute:
    """The customer's latest Slack message on the ticket names the conversation and thread."""
    for message in reversed(ticket.messages):
        kind, _, user = message.sender.partition(":")
        channel = message.meta.get("channel") or message.recipient
        if message.direction is Direction.INBOUND and kind == SLACK and channel:
            return ReplyRoute(user, channel, message.meta.get("thread_ts", ""))
    raise Conflict(f"ticket {ticket.id} has no Slack message to reply to")


@dataclass(slots=True)
class SlackSender:
    bot_token: str = field(repr=False)
    api_base: str = "https://slack.com/api/"
    attempts: int = 4
    backoff: float = 0.5  # seconds before the first retry, doubled for each next one
    timeout: float = 10.0
    name: ClassVar[str] = NAME
    _client: AsyncWebClient | None = field(default=None, repr=False)

    def recipient(self, ticket: Ticket, body: str, to: Identity | None = None) -> Identity:
        """The Slack user of the ticket's thread (nothing else is reached on Slack: `to` is
        never chosen for it)."""
        if not body.strip():
            raise InvalidRequest("body must not be empty")
        if len(body) > MAX_TEXT_CHARS:
            raise InvalidRequest(f"a Slack message holds at most {MAX_TEXT_CHARS} characters")
        return Identity(SLACK, reply_route(ticket).user)

    async def send(self, ticket: Ticket, message: Message, to: Identity | None = None) -> Delivery:
        route = reply_route(ticket)
        params = {"channel": route.channel, "text": message.body}
        if route.thread_ts:
            params["thread_ts"] = route.thread_ts
        answer = Answer(0, {}, "sender is not running")
        for number in range(self.attempts):
            if number:
                backoff = self.backoff * 2 ** (number - 1)
                await asyncio.sleep(backoff if answer.retry_after is None else answer.retry_after)
            answer = await self._post(params)
            if answer.ok:
                ts = str(answer.data.get("ts") or "")
                return Delivery("delivered", f"{answer.data.get('channel', route.channel)}:{ts}")
            if not answer.transient:
                return Delivery("failed", "", f"slack: {answer.error}")
        return Delivery("failed", "", f"slack: {answer.error} (after {self.attempts} attempts)")

    async def _post(self, params: dict[str, str]) -> Answer:
        if self._client is None:
            return Answer(400, {}, "sender is not running")
        return await call(self._client.chat_postMessage, **params)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._client = web_client(self.bot_token, self.api_base, session, self.timeout)
            try:
                yield
            finally:
                self._client = None
