"""Agents' SMS replies through Twilio's Messages API (aiohttp, basic auth).

    POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json
    To, From, Body[, StatusCallback]

A reply goes from the number the customer wrote to, to the number they wrote from; a
customer who never texted us (a web form's phone) gets it from `from_number`. 429 and
5xx answers and network errors are retried (channels/twilio/rest.py); any other refusal is
final. Either way a failure comes back as a failed Delivery with Twilio's code and message,
which the hub records on the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar

import aiohttp

from channels.twilio.rest import basic_auth, post_form
from core.errors import Conflict, InvalidRequest
from core.identity import PHONE
from core.model import Delivery, Direction, Identity, Message, Ticket

NAME = "sms"
MAX_BODY_CHARS = 1600


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
        form = [("To", phone), ("From", origin), ("Body", message.body)]
        if self.status_callback:
            form.append(("StatusCallback", self.status_callback))
        authorization = basic_auth(self.account_sid, self.auth_token)
        answer = await post_form(
            self._session, self.messages_url, form, authorization,
            attempts=self.attempts, backoff=self.backoff,
        )  # fmt: skip
        if answer.created:
            return Delivery(str(answer.data.get("status") or "queued"), str(answer.data["sid"]))
        if answer.transient:
            return Delivery("failed", "", f"{answer.reason} (after {self.attempts} attempts)")
        return Delivery("failed", "", answer.reason)

    def _route(self, ticket: Ticket, to: Identity | None) -> tuple[str, str]:
        if to is not None and to.kind != PHONE:
            raise Conflict(f"an SMS cannot reach the customer's {to.kind}")
        return reply_route(ticket, self.from_number, None if to is None else to.value)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None
