"""Agents' replies: record the message, deliver it on the ticket's channel, record the result.

The reply is stored before it is sent (a crash in between leaves a `queued` message, never
a sent one nobody knows of); the channel's sender delivers it; its Delivery (status,
provider id, or the reason of a failure) is stored on the message. A channel without a
sender, a ticket with nobody to reply to, and a customer who opted out of SMS are refused
(409) before anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from channels.base import Sender
from channels.twilio import sms
from core.errors import Conflict
from core.model import Message
from storage.base import Store


async def send_reply(
    store: Store, senders: Mapping[str, Sender], ticket_id: int, body: str, author: str
) -> Message:
    ticket = await store.get_ticket(ticket_id)
    sender = senders.get(ticket.channel)
    if sender is None:
        raise Conflict(
            f"replies on the {ticket.channel} channel cannot be sent: no sender is configured"
        )
    recipient = sender.recipient(ticket, body)
    if ticket.channel == sms.NAME and await store.sms_opted_out(recipient.key):
        raise Conflict("the customer opted out of SMS (STOP): nothing was sent")
    message = await store.append_outbound(ticket.id, body, author, datetime.now(UTC))
    delivery = await sender.send(ticket, message)
    return await store.record_delivery(message.id, delivery)
