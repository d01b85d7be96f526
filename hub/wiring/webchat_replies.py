"""The chat's reply sender: live to the visitor's socket, else by email when they gave one.

A reply is pushed to whichever hub holds a socket of the visitor (`delivered`). When none
does (the visitor left, the chat was outside the queue's hours or nobody was online when
they wrote) and the visitor gave an email address, the reply also goes by email, so the
conversation continues there; it stays on the ticket for the widget's `resume` either way.
The address is the signed visitor's customer's (the website vouched for it, or the customer
gave it on another channel: their answer threads back onto the ticket), else the address the
visitor typed, a hint that never joins them to its owner (their answer by email opens a
ticket of that address's own).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import structlog

from channels.base import Sender
from channels.webchat import NAME
from channels.webchat.sender import ChatSender, chat_visitor
from channels.webchat.visitor import SIGNED
from core.errors import HubError
from core.identity import EMAIL, mask
from core.model import Delivery, Direction, Identity, Message, Ticket
from storage.base import Store

log = structlog.get_logger("contacthub.chat")


@dataclass(frozen=True, slots=True)
class ChatReplies:
    chat: ChatSender
    email: Sender | None
    store: Store
    name: ClassVar[str] = NAME

    def recipient(self, ticket: Ticket, body: str, to: Identity | None = None) -> Identity:
        return self.chat.recipient(ticket, body, to)

    async def send(self, ticket: Ticket, message: Message, to: Identity | None = None) -> Delivery:
        live = await self.chat.send(ticket, message, to)
        if live.status == "delivered" or self.email is None:
            return live
        address = await self.email_address(ticket)
        if address is None:
            return live
        try:
            self.email.recipient(ticket, message.body, address)
            mailed = await self.email.send(ticket, message, address)
        except HubError as exc:  # no address to send from: the reply waits for the widget
            log.warning("chat_email_refused", ticket=ticket.id, error=exc.message)
            return live
        if mailed.failed:
            log.warning("chat_email_failed", ticket=ticket.id, to=mask(address.value),
                        error=mailed.error)  # fmt: skip
            return live
        return mailed

    async def email_address(self, ticket: Ticket) -> Identity | None:
        """Where the visitor of a chat ticket said they read email, if they did."""
        visitor = chat_visitor(ticket)
        if visitor is not None and visitor.kind == SIGNED:
            customer = await self.store.get_customer(ticket.customer_id)
            known = next((i for i in customer.identities if i.kind == EMAIL), None)
            if known is not None:
                return known
        for written in reversed(ticket.messages):
            hint = (
                written.meta.get("email_hint") if written.direction is Direction.INBOUND else None
            )
            if hint:
                return Identity(EMAIL, hint)
        return None

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        yield
