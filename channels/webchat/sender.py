"""Agents' replies on the web chat: a frame to whichever hub holds the visitor's socket.

The reply is already stored (it is what `resume` replays); sending publishes it on the bus
under the visitor's identity. `delivered` when a hub held a socket of the visitor, `sent`
when none did: the visitor gets it on their next connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from channels.webchat import NAME
from channels.webchat.bus import Bus
from core.errors import Conflict, InvalidRequest
from core.model import Delivery, Direction, Identity, Message, Ticket


def message_frame(message: Message) -> dict[str, Any]:
    """A stored message as the visitor's widget shows it (a visitor's with its client_id, so
    a widget whose ack was lost recognises its own message)."""
    frame: dict[str, Any] = {
        "type": "message",
        "seq": message.id,
        "ticket_id": message.ticket_id,
        "from": "visitor" if message.direction is Direction.INBOUND else "agent",
        "text": message.body,
        "at": message.at.isoformat(),
    }
    if message.direction is Direction.INBOUND:
        frame["client_id"] = message.external_id
    return frame


def chat_visitor(ticket: Ticket) -> Identity | None:
    """The visitor of a chat ticket: the sender of its latest chat message."""
    for message in reversed(ticket.messages):
        kind, _, value = message.sender.partition(":")
        if message.direction is Direction.INBOUND and message.channel == NAME and value:
            return Identity(kind, value)
    return None


@dataclass(frozen=True, slots=True)
class ChatSender:
    bus: Bus
    max_chars: int = 20_000
    name: ClassVar[str] = NAME

    def recipient(self, ticket: Ticket, body: str, to: Identity | None = None) -> Identity:
        if not body.strip():
            raise InvalidRequest("a chat reply needs some text")
        if len(body) > self.max_chars:
            raise InvalidRequest(f"a chat reply is at most {self.max_chars} characters")
        visitor = to or chat_visitor(ticket)
        if visitor is None:
            raise Conflict("the ticket has no chat visitor to answer")
        return visitor

    async def send(self, ticket: Ticket, message: Message, to: Identity | None = None) -> Delivery:
        visitor = self.recipient(ticket, message.body, to)
        hubs = await self.bus.publish(visitor.key, message_frame(message))
        return Delivery("delivered" if hubs else "sent", provider_id=f"chat-{message.id}")

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        yield
