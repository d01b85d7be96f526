"""The API's JSON shapes of the model (the stable public interface of PRODUCT.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.customers import CustomerMerge
from core.duration import format_duration
from core.model import (
    Attachment,
    Customer,
    Decision,
    Identity,
    Message,
    QueueStats,
    RulesVersion,
    Ticket,
)
from core.record import EventKind, TicketEvent
from router import QueueSpec

Json = dict[str, Any]
Fetched = Callable[[str, Attachment], bool]
"""Whether the hub fetches an attachment of a channel's message from its provider (it keeps
only the link: hub/files/fetch.py), so that its `download` serves it."""


def _not_fetched(_channel: str, _attachment: Attachment) -> bool:
    return False


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ticket_json(
    ticket: Ticket, *, with_messages: bool = True, fetched: Fetched = _not_fetched
) -> Json:
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
        body["messages"] = [message_json(m, fetched) for m in ticket.messages]
    return body


def message_json(message: Message, fetched: Fetched = _not_fetched) -> Json:
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
        "attachments": [
            attachment_json(
                a,
                download_path(message.ticket_id, message.id, n)
                if a.sha256 or fetched(message.channel, a)
                else None,
            )
            for n, a in enumerate(message.attachments)
        ],
        "author": message.author or None,
        "automatic": message.automatic or None,  # why no person wrote it ("acknowledgement")
        "delivery": message.delivery or None,
        "error": message.error or None,
        "at": iso(message.at),
        "edited_at": iso(message.edited_at),
        "deleted_at": iso(message.deleted_at),
        "meta": dict(message.meta),  # the channel's notes: quoted text, parts not walked, ...
    }


def event_json(event: TicketEvent) -> Json:
    """One event of a ticket's record (lists in the detail are JSON arrays)."""
    return {
        "seq": event.seq,
        "kind": event.kind,
        "actor": {"kind": event.actor.kind, "name": event.actor.name or None},
        "at": iso(event.at),
        "detail": dict(event.detail),
    }


def notes_json(events: list[TicketEvent]) -> list[Json]:
    """The internal notes on a record: notes, and the notes given with transfers."""
    return [
        {"seq": e.seq, "author": e.actor.name or None, "at": iso(e.at), "body": body}
        for e in events
        if e.kind in (EventKind.NOTE, EventKind.TRANSFERRED)
        and (body := e.detail.get("body") or e.detail.get("note"))
    ]


def download_path(ticket_id: int, message_id: int, n: int) -> str:
    """Where hub/api/attachments.py serves a message's `n`th attachment's bytes."""
    return f"/api/tickets/{ticket_id}/messages/{message_id}/attachments/{n}"


def attachment_json(attachment: Attachment, download: str | None = None) -> Json:
    """`download`: where the API serves the bytes, kept or fetched from the provider (None:
    neither; `url` may link)."""
    return {
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "url": attachment.url,
        "download": download,
    }


def customer_json(
    customer: Customer,
    tickets: list[Ticket] | None = None,
    merges: list[CustomerMerge] | None = None,
) -> Json:
    """A customer as lists show it; a read of one adds its tickets and merges."""
    body: Json = {
        "id": customer.id,
        "name": customer.name,
        "tags": list(customer.tags),
        "created_at": iso(customer.created_at),
        "identities": [identity_json(i) for i in customer.identities],
        "merged_into": customer.merged_into,
    }
    if tickets is not None:
        body["tickets"] = [ticket_json(t, with_messages=False) for t in tickets]
    if merges is not None:
        body["merges"] = [merge_json(m) for m in merges]
    return body


def identity_json(identity: Identity) -> Json:
    return {"kind": identity.kind, "value": identity.value}


def merge_json(merge: CustomerMerge) -> Json:
    return {
        "id": merge.id,
        "survivor": merge.survivor,
        "other": merge.other,
        "by": merge.by,
        "at": iso(merge.at),
        "moved": {
            "identities": [identity_json(i) for i in merge.identities],
            "tickets": list(merge.tickets),
            "tags": list(merge.tags),
            "added_tags": list(merge.added_tags),
        },
        "undone_by": merge.undone_by,
        "undone_at": iso(merge.undone_at),
    }


def decision_json(decision: Decision) -> Json:
    return {
        "queue": decision.queue,
        "priority": decision.priority,
        "tags": list(decision.tags),
        "skills": list(decision.skills),
        "rule": decision.rule,
        "explanation": list(decision.explanation),
        "sla": {
            "first_response": _span(decision.first_response),
            "resolution": _span(decision.resolution),
            "first_response_due": iso(decision.first_response_due),
            "resolution_due": iso(decision.resolution_due),
        },
        "auto_reply": decision.auto_reply,
        "campaign": decision.campaign,
        "rules_version": decision.rules_version,
    }


def _span(value: timedelta | None) -> str | None:
    return None if value is None else format_duration(value)


def rules_json(version: RulesVersion | None, ruleset_source: str) -> Json:
    return {
        "version": None if version is None else version.version,
        "author": None if version is None else version.author,
        "created_at": None if version is None else iso(version.created_at),
        "source": ruleset_source,
    }


def queue_json(name: str, stats: QueueStats | None, spec: QueueSpec | None = None) -> Json:
    return {
        "name": name,
        "kind": None if spec is None else str(spec.kind),
        "tier": None if spec is None else spec.tier,
        "waiting": 0 if stats is None else stats.waiting,
        "open": 0 if stats is None else stats.open,
        "oldest_waiting_at": None if stats is None else iso(stats.oldest_waiting_at),
    }
