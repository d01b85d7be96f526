"""Agents' replies: choose the channel, record the message, deliver it, record the result.

The channel is the ticket's own, or the one that answers its channel's tickets (a web form's
by email or SMS: hub/desk/delivery.py); the message records the channel it went out on, so
the provider's later reports (a bounce, an SMS status) find it. The reply is stored before
it is sent (a crash in between leaves a `queued` message, never a sent one nobody knows of);
the channel's sender delivers it; its Delivery (status, provider id, or the reason of a
failure) is stored on the message, and a failure is logged with its reason. Only a reply a
provider accepted counts as the ticket's first response (the store keeps that). No channel
to answer on, a ticket with nobody to reply to, a closed ticket and a customer who opted out
of SMS are refused (409) before anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

from channels.base import Sender
from channels.twilio import sms
from core.errors import Conflict, NotFound, ReplyOnFinal
from core.identity import mask
from core.model import Direction, Identity, Message, Ticket, Via
from core.record import SYSTEM, Actor
from core.workflow import is_final
from hub.desk.delivery import DeliveryChannel, customer_identities, delivery_channel
from hub.desk.sla_marks import reply_marks
from hub.rules.routing import RulesRouter
from storage.base import Store

log = structlog.get_logger("contacthub.replies")


async def send_reply(
    store: Store,
    senders: Mapping[str, Sender],
    ticket_id: int,
    body: str,
    author: str,
    router: RulesRouter | None = None,
) -> Message:
    """With the rules in force (`router`), the SLA marks the reply leaves are stored with it."""
    ticket = await store.get_ticket(ticket_id)
    _not_final(ticket)  # the store refuses it too, should the ticket close meanwhile
    ticket = await conversation_of(store, ticket)
    route, recipient = await reach(store, senders, ticket, body)
    sender = route.sender
    now = datetime.now(UTC)
    actor = Actor.agent(author) if author else SYSTEM
    marks = None if router is None else await reply_marks(store, router, ticket.id, actor, now)
    message = await store.append_outbound(ticket.id, body, author, now, Via(sender.name), marks)
    delivery = await sender.send(ticket, message, route.to)
    if delivery.failed:
        log.warning(
            "reply_failed",
            ticket=ticket.id,
            message_id=message.id,
            channel=sender.name,
            to=mask(recipient.value),
            error=delivery.error,
        )
    return await store.record_delivery(message.id, delivery)


@dataclass(frozen=True, slots=True)
class ReplyWay:
    """Where a reply on a ticket would go now (its channel and recipient), or why none can:
    what the agent's page says above the reply box, before anything is written."""

    channel: str | None = None
    to: str | None = None
    refused: str | None = None

    def json(self) -> dict[str, str | None]:
        return {"channel": self.channel, "to": self.to, "refused": self.refused}


async def reply_way(store: Store, senders: Mapping[str, Sender], ticket: Ticket) -> ReplyWay:
    """The choice `send_reply` would make for a reply now, by the same steps."""
    try:
        _not_final(ticket)
        route, recipient = await reach(
            store, senders, await conversation_of(store, ticket), ANY_BODY
        )
    except (Conflict, NotFound) as exc:  # not the ticket's 404: its reading goes on
        return ReplyWay(refused=exc.message)
    return ReplyWay(route.sender.name, recipient.value)


ANY_BODY = "."
"""A body every channel carries: the way a reply goes does not depend on its text."""


async def conversation_of(store: Store, ticket: Ticket) -> Ticket:
    """The ticket with the messages a reply on it answers: a follow-up's customer has not
    written on it yet, so its closed ticket's conversation says where to and what it answers
    (its own messages after them); any other ticket as it is."""
    if any(m.direction is Direction.INBOUND for m in ticket.messages):
        return ticket
    record = await store.ticket_events(ticket.id)
    closed_id = record[0].detail.get("follow_up_of") if record else None
    if not isinstance(closed_id, int):
        return ticket
    try:
        closed = await store.get_ticket(closed_id)
    except NotFound:  # purged since: nothing says where to
        return ticket
    return replace(ticket, messages=closed.messages + ticket.messages)


async def reach(
    store: Store, senders: Mapping[str, Sender], ticket: Ticket, body: str
) -> tuple[DeliveryChannel, Identity]:
    """The channel a reply of `body` on the ticket's conversation goes out on, and to whom;
    Conflict (nothing can carry it, nobody to answer, opted out) or InvalidRequest (a body
    the channel cannot carry)."""
    route = await _route(store, senders, ticket)
    recipient = route.sender.recipient(ticket, body, route.to)
    await _not_opted_out(store, route.sender, recipient)
    return route, recipient


async def _route(store: Store, senders: Mapping[str, Sender], ticket: Ticket) -> DeliveryChannel:
    identities: list[Identity] = []
    if ticket.channel not in senders:  # the customer's identities tell where else to answer
        identities = customer_identities(ticket, await store.get_customer(ticket.customer_id))
    return delivery_channel(ticket.channel, identities, senders)


def _not_final(ticket: Ticket) -> None:
    if is_final(ticket.status):
        raise ReplyOnFinal(ticket.id, ticket.status)


async def _not_opted_out(store: Store, sender: Sender, recipient: Identity) -> None:
    if sender.name == sms.NAME and await store.sms_opted_out(recipient.key):
        raise Conflict("the customer opted out of SMS (STOP)")
