"""Agents' replies: choose the channel, record the message, deliver it, record the result.

The channel is the ticket's own, or the one that answers its channel's tickets (a web form's
by email or SMS: hub/desk/delivery.py); the message records the channel it went out on, so
the provider's later reports (a bounce, an SMS status) find it. The reply is stored before
it is sent (a crash in between leaves a `queued` message, never a sent one nobody knows of);
the channel's sender delivers it; its Delivery (status, provider id, or the reason of a
failure) is stored on the message, and a failure is logged with its reason. Only a reply a
provider accepted counts as the ticket's first response (the store keeps that). No channel
to answer on, a ticket with nobody to reply to, and a customer who opted out of SMS are
refused (409) before anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import structlog

from channels.base import Sender
from channels.twilio import sms
from core.errors import Conflict
from core.identity import mask
from core.model import Identity, Message, Via
from core.record import SYSTEM, Actor
from hub.desk.delivery import customer_identities, delivery_channel
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
    identities: list[Identity] = []
    if ticket.channel not in senders:  # the customer's identities tell where else to answer
        identities = customer_identities(ticket, await store.get_customer(ticket.customer_id))
    route = delivery_channel(ticket.channel, identities, senders)
    sender = route.sender
    recipient = sender.recipient(ticket, body, route.to)
    if sender.name == sms.NAME and await store.sms_opted_out(recipient.key):
        raise Conflict("the customer opted out of SMS (STOP): nothing was sent")
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
