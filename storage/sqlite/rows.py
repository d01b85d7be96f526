"""Conversions between SQLite rows and the model (times are stored as UTC epoch seconds)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.json_text import dumps, loads
from core.model import (
    Attachment,
    Customer,
    CustomerFacts,
    Direction,
    Identity,
    Inbound,
    Message,
    Priority,
    Route,
    Status,
    Ticket,
)
from storage.marks import marks_from_json

Row = tuple[Any, ...]

TICKET_COLUMNS = (
    "id, status, channel, queue, priority, customer_id, subject, tags, skills, assignee, "
    "route_rule, route_explanation, route_version, route_facts, created_at, updated_at, "
    "first_response_due, "
    "resolution_due, first_responded_at, resolved_at, sla_marks"
)
MESSAGE_COLUMNS = (
    "id, ticket_id, direction, channel, body, at, external_id, event, sender, recipient, "
    "subject, attachments, author, delivery, error, meta, edited_at, deleted_at"
)
INBOUND_COLUMNS = (
    "channel, external_id, sender, body, at, event, recipient, subject, attachments, meta"
)
LIVE = "(status = 'new' OR status = 'open' OR status = 'pending')"
WAITING = f"{LIVE} AND assignee IS NULL"
"""Live work that nobody holds (core/workflow.py `waits`), as the partial indexes
tickets_waiting and tickets_oldest_waiting say it (schema migration 14): a query finds them
only if it repeats this text, and an OR of equalities, unlike an IN list, builds nothing."""


def ts(moment: datetime) -> float:
    return moment.timestamp()


def dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def opt_dt(seconds: float | None) -> datetime | None:
    return None if seconds is None else dt(seconds)


def json_list(values: tuple[str, ...]) -> str:
    return dumps(values) if values else "[]"


def json_map(values: Mapping[str, str]) -> str:
    return dumps(dict(values)) if values else "{}"


def facts_json(facts: CustomerFacts) -> str:
    if facts.customer_id is None:
        return "{}"
    return dumps(
        {"customer_id": facts.customer_id, "tags": facts.tags, "open_tickets": facts.open_tickets}
    )


def facts_from_json(text: str) -> CustomerFacts:
    data = loads(text)
    if not data:
        return CustomerFacts(None)
    return CustomerFacts(data["customer_id"], tuple(data["tags"]), data["open_tickets"])


def attachments_json(attachments: tuple[Attachment, ...]) -> str:
    if not attachments:
        return "[]"
    fields = ("name", "content_type", "size", "sha256", "url")
    return dumps(
        [{f: getattr(a, f) for f in fields if getattr(a, f) is not None} for a in attachments]
    )


def attachments_from_json(text: str) -> tuple[Attachment, ...]:
    return tuple(Attachment(**item) for item in loads(text))


def ticket_from_row(row: Row, messages: tuple[Message, ...] = ()) -> Ticket:
    (
        id_, status, channel, queue, priority, customer_id, subject, tags, skills, assignee,
        rule, explanation, version, facts, created, updated, first_due, resolution_due,
        responded, resolved, marks,
    ) = row  # fmt: skip
    return Ticket(
        id=id_,
        status=Status(status),
        channel=channel,
        queue=queue,
        priority=Priority(priority),
        customer_id=customer_id,
        subject=subject,
        created_at=dt(created),
        updated_at=dt(updated),
        route=Route(rule, tuple(loads(explanation)), version, facts_from_json(facts)),
        tags=tuple(loads(tags)),
        skills=tuple(loads(skills)),
        assignee=assignee,
        first_response_due=opt_dt(first_due),
        resolution_due=opt_dt(resolution_due),
        first_responded_at=opt_dt(responded),
        resolved_at=opt_dt(resolved),
        messages=messages,
        sla=marks_from_json(marks),
    )


def message_from_row(row: Row) -> Message:
    (
        id_, ticket_id, direction, channel, body, at, external_id, event, sender, recipient,
        subject, attachments, author, delivery, error, meta, edited_at, deleted_at,
    ) = row  # fmt: skip
    return Message(
        id=id_,
        ticket_id=ticket_id,
        direction=Direction(direction),
        channel=channel,
        body=body,
        at=dt(at),
        external_id=external_id,
        event=event,
        sender=sender,
        recipient=recipient,
        subject=subject,
        attachments=attachments_from_json(attachments),
        author=author,
        delivery=delivery,
        error=error,
        meta=loads(meta) if meta != "{}" else {},
        edited_at=opt_dt(edited_at),
        deleted_at=opt_dt(deleted_at),
    )


CUSTOMER_COLUMNS = "id, name, tags, created_at, merged_into"


def customer_from_row(row: Row, identity_keys: list[str]) -> Customer:
    id_, name, tags, created, merged_into = row
    identities = tuple(identity_from_key(key) for key in identity_keys)
    return Customer(id_, name, dt(created), identities, tuple(loads(tags)), merged_into)


def identity_from_key(key: str) -> Identity:
    kind, _, value = key.partition(":")
    return Identity(kind, value)


def inbound_from_row(row: Row) -> Inbound:
    channel, external_id, sender, body, at, event, recipient, subject, attachments, meta = row
    kind, _, value = sender.partition(":")
    return Inbound(
        channel=channel,
        external_id=external_id,
        sender=Identity(kind, value),
        text=body,
        received_at=dt(at),
        event=event,
        recipient=recipient,
        subject=subject,
        attachments=attachments_from_json(attachments),
        meta=loads(meta),
    )
