"""The API's JSON shapes of the model (the stable public interface of PRODUCT.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.model import Attachment, Customer, Message, QueueStats, Ticket

Json = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ticket_json(ticket: Ticket, *, with_messages: bool = True) -> Json:
    body: Json = {
        "id": ticket.id,
        "status": ticket.status,
        "channel": ticket.channel,
        "queue": ticket.queue,
        "priority": ticket.priority,
        "customer_id": ticket.customer_id,
        "subject": ticket.subject,
        "tags": list(ticket.tags),
        "skills": list(ticket.skills),
        "assignee": ticket.assignee,
        "route": {
            "rule": ticket.route.rule,
            "explanation": list(ticket.route.explanation),
            "rules_version": ticket.route.rules_version,
        },
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "sla": {
            "first_response_due": iso(ticket.first_response_due),
            "resolution_due": iso(ticket.resolution_due),
            "first_responded_at": iso(ticket.first_responded_at),
            "resolved_at": iso(ticket.resolved_at),
        },
    }
    if with_messages:
        body["messages"] = [message_json(m) for m in ticket.messages]
    return body


def message_json(message: Message) -> Json:
    return {
        "id": message.id,
        "direction": message.direction,
        "channel": message.channel,
        "event": message.event,
        "body": message.body,
        "external_id": message.external_id,
        "from": message.sender,
        "to": message.recipient,
        "subject": message.subject,
        "attachments": [attachment_json(a) for a in message.attachments],
        "author": message.author or None,
        "delivery": message.delivery or None,
        "error": message.error or None,
        "at": iso(message.at),
    }


def attachment_json(attachment: Attachment) -> Json:
    return {
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "url": attachment.url,
    }


def customer_json(customer: Customer, tickets: list[Ticket]) -> Json:
    return {
        "id": customer.id,
        "name": customer.name,
        "tags": list(customer.tags),
        "created_at": iso(customer.created_at),
        "identities": [{"kind": i.kind, "value": i.value} for i in customer.identities],
        "tickets": [ticket_json(t, with_messages=False) for t in tickets],
    }


def queue_json(name: str, stats: QueueStats | None) -> Json:
    return {
        "name": name,
        "waiting": 0 if stats is None else stats.waiting,
        "open": 0 if stats is None else stats.open,
        "oldest_waiting_at": None if stats is None else iso(stats.oldest_waiting_at),
    }
