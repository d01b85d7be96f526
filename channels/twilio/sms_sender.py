"""Agents' SMS replies through Twilio's Messages API (aiohttp, basic auth).

    POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json
    To, From, Body[, StatusCallback]

A reply goes from the number the customer wrote to, to the number they wrote from; a
customer who never texted us (a web form's phone) gets it from `from_number`. 429 and
5xx answers and network errors are retried with exponential backoff (a Retry-After header
wins, capped); any other refusal is final. Either way a failure comes back as a failed
Delivery with Twilio's code and message, which the hub records on the message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp

from core.errors import Conflict, InvalidRequest
from core.identity import PHONE
from core.model import Delivery, Direction, Identity, Message, Ticket

NAME = "sms"
MAX_BODY_CHARS = 1600
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One request's outcome: a final delivery, or a transient failure to retry."""

    delivery: Delivery | None
    reason: str = ""
    retry_after: float | None = None


def reply_route(
    ticket: Ticket, from_number: str | None = None, to: str | None = None
) -> tuple[str, str]:
    """(From, To) of a reply: the customer's latest message to one of our numbers on the
    ticket (from `to` when given), reversed; else `from_number` to `to` or to their latest
    phone on the ticket (a form gives no number of ours)."""
    phones = [] if to is None else [to]
    for message in reversed(ticket.messages):
        kind, _, number = message.sender.partition(":")
        if message.direction is not Direction.INBOUND or kind != PHONE:
            continue
        if message.recipient and to in (None, number):
            return message.recipient, number
        phones.append(number)
    if not phones:
        raise Conflict(f"ticket {ticket.id} has no SMS from a phone number to reply to")
    if not from_number:
        raise Conflict(
            f"ticket {ticket.id}: no number to send the SMS from (set channels.twilio.from_number)"
        )
    return from_number, phones[0]


def twilio_error(status: int, data: dict[str, Any]) -> str:
    """Twilio's error as one line: `twilio 400: 21211 The 'To' number ... is not valid`."""
    code, message = data.get("code"), data.get("message")
    detail = " ".join(str(part) for part in (code, message) if part)
    return f"twilio {status}: {detail}" if detail else f"twilio {status}"


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After", "")
    try:
        return min(float(raw), MAX_RETRY_AFTER) if raw else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None


@dataclass(slots=True)
class TwilioSmsSender:
    account_sid: str
    auth_token: str = field(repr=False)
    api_base: str = "https://api.twilio.com"
    status_callback: str | None = None
    from_number: str | None = None  # for customers who never texted one of our numbers
    attempts: int = 4
    backoff: float = 0.5  # seconds before the first retry, doubled for each next one
    timeout: float = 10.0
    name: ClassVar[str] = NAME
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    @property
    def _authorization(self) -> str:
        # Built by hand: aiohttp.BasicAuth is deprecated and its successor is aiohttp >= 3.13.
        pair = f"{self.account_sid}:{self.auth_token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    @property
    def messages_url(self) -> str:
        return f"{self.api_base.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def recipient(self, ticket: Ticket, body: str, to: Identity | None = None) -> Identity:
        if not body.strip():
            raise InvalidRequest("body must not be empty")
        if len(body) > MAX_BODY_CHARS:
            raise InvalidRequest(f"an SMS body holds at most {MAX_BODY_CHARS} characters")
        return Identity(PHONE, self._route(ticket, to)[1])

    async def send(self, ticket: Ticket, message: Message, to: Identity | None = None) -> Delivery:
        origin, phone = self._route(ticket, to)
        form = {"To": phone, "From": origin, "Body": message.body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        attempt = _Attempt(None, "sender is not running")
        for number in range(self.attempts):
            if number:
                await asyncio.sleep(attempt.retry_after or self.backoff * 2 ** (number - 1))
            attempt = await self._attempt(form)
            if attempt.delivery is not None:
                return attempt.delivery
        return Delivery("failed", "", f"{attempt.reason} (after {self.attempts} attempts)")

    def _route(self, ticket: Ticket, to: Identity | None) -> tuple[str, str]:
        if to is not None and to.kind != PHONE:
            raise Conflict(f"an SMS cannot reach the customer's {to.kind}")
        return reply_route(ticket, self.from_number, None if to is None else to.value)

    async def _attempt(self, form: dict[str, str]) -> _Attempt:
        if self._session is None:
            return _Attempt(Delivery("failed", "", "sender is not running"))
        try:
            async with self._session.post(
                self.messages_url, data=form, headers={"Authorization": self._authorization}
            ) as response:
                status, retry_after = response.status, _retry_after(response.headers)
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return _Attempt(None, f"no answer from twilio: {type(exc).__name__} {exc}".strip())
        data = data if isinstance(data, dict) else {}
        if 200 <= status < 300 and data.get("sid"):
            return _Attempt(Delivery(str(data.get("status") or "queued"), str(data["sid"])))
        reason = twilio_error(status, data)
        if status == 429 or status >= 500:
            return _Attempt(None, reason, retry_after)
        return _Attempt(Delivery("failed", "", reason))

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None
