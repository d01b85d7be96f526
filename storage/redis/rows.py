"""Conversions between Redis values and the model.

A ticket is a hash of short strings (what changes: status, queue, assignee, times), fields
at their default left out, and one JSON string of what never changes (subject, route). A
message is one JSON object in its ticket's list, without the defaults either. Times are UTC
epoch seconds written as strings with `repr(float)`, which read back to the same instant
(and survive a Lua cjson round trip, which would cut a number to 14 digits). The JSON
shapes of facts and attachments are the SQLite backend's, so a replay means the same thing
on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from core.deadlines import SlaMarks
from core.json_text import dumps, loads
from core.model import (
    Attachment,
    Customer,
    CustomerFacts,
    Decision,
    Direction,
    Identity,
    Inbound,
    Message,
    Priority,
    Route,
    RulesVersion,
    Status,
    Ticket,
    Via,
)
from core.periods import Calendar
from storage.marks import marks_from_json, marks_json
from storage.sqlite.rows import dt, facts_from_json, facts_json

Fields = Mapping[str, str]


def ts(moment: datetime) -> str:
    return repr(moment.timestamp())


def opt_dt(value: str | None) -> datetime | None:
    return None if value is None else dt(float(value))


def pairs(flat: Sequence[str]) -> dict[str, str]:
    """A flat HGETALL reply (as Lua returns it) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def ticket_fields(inbound: Inbound, decision: Decision) -> dict[str, str]:
    """The hash of a new ticket: short fields, some of which change (the script adds the
    status, customer, channel and times)."""
    now = inbound.received_at
    fields: dict[str, str | None] = {
        "queue": decision.queue,
        "priority": decision.priority.value,
        "tags": _json_tuple(decision.tags),
        "first_response_due": _due(now, decision.first_response_due, decision.first_response),
        "resolution_due": _due(now, decision.resolution_due, decision.resolution),
    }
    return {name: value for name, value in fields.items() if value is not None}


def report_cells(calendar: Calendar, made: datetime) -> dict[str, object]:
    """What lua/tally.lua needs of a ticket made at `made` to count it in its cells, which Lua
    cannot work out (it has no zone database): the report zone the hub knows (the script
    checks it is the store's), and the starts of the ticket's day and month in it. Nothing
    for UTC's calendar."""
    if calendar.utc:
        return {}
    _, (_, day), (_, month) = calendar.periods(made.timestamp())
    return {"zone": calendar.zone, "cells": [day, month]}


def route_json(inbound: Inbound, decision: Decision, facts: CustomerFacts) -> str:
    """What a ticket keeps of how it came and why it went where: written once, and kept
    beside the hash as one string, since a long value (an explanation, an email subject)
    would turn the hash from Redis's compact encoding into a table three times its size."""
    route: dict[str, object] = {
        "subject": inbound.subject,
        "skills": decision.skills,
        "rule": decision.rule,
        "why": decision.explanation,
        "rules_version": decision.rules_version,
        "facts": loads(facts_json(facts)),
    }
    return dumps({name: value for name, value in route.items() if value})


def _json_tuple(values: tuple[str, ...]) -> str | None:
    return dumps(values) if values else None


def _due(now: datetime, due: datetime | None, delta: timedelta | None) -> str | None:
    """The router's due time (business hours); a bare target counts from now."""
    if due is not None:
        return ts(due)
    return None if delta is None else ts(now + delta)


def ticket_from_fields(
    ticket_id: int,
    fields: Fields,
    route_text: str | None,
    messages: Sequence[str] = (),
    marks: str | None = None,
) -> Ticket:
    get = fields.get
    route = loads(route_text or "{}")
    return Ticket(
        id=ticket_id,
        status=Status(fields["status"]),
        channel=fields["channel"],
        queue=fields["queue"],
        priority=Priority(fields["priority"]),
        customer_id=int(fields["customer"]),
        subject=route.get("subject", ""),
        created_at=dt(float(fields["created"])),
        updated_at=dt(float(fields["updated"])),
        route=_route(route),
        tags=tuple(loads(get("tags", "[]"))),
        skills=tuple(route.get("skills", ())),
        assignee=get("assignee"),
        first_response_due=opt_dt(get("first_response_due")),
        resolution_due=opt_dt(get("resolution_due")),
        first_responded_at=opt_dt(get("first_responded")),
        resolved_at=opt_dt(get("resolved")),
        messages=tuple(message_from_json(ticket_id, m) for m in messages),
        sla=marks_from_json(marks),
    )


def sla_json(marks: SlaMarks | None) -> str:
    """Marks as common.lua's `write_sla` reads them ("" for none)."""
    return "" if marks is None else dumps(sla_fields(marks))


def sla_fields(marks: SlaMarks) -> dict[str, object]:
    data: dict[str, object] = {
        "standing": marks.standing,
        "clocks": marks_json(marks),
        "deadlines": [[d.metric, d.kind, d.key, ts(d.due)] for d in marks.deadlines],
    }
    if marks.basis is not None:
        data["basis"] = marks.basis
    return data


def ticket_from_reply(reply: Sequence[Any]) -> Ticket:
    """A ticket as common.lua's `read_ticket` replies it."""
    ticket_id, flat, route, messages, marks = reply
    return ticket_from_fields(int(ticket_id), pairs(flat), route, messages, marks)


def _route(route: Mapping[str, Any]) -> Route:
    return Route(
        route.get("rule"),
        tuple(route.get("why", ())),
        route.get("rules_version"),
        facts_from_json(dumps(route.get("facts", {}))),
    )


def inbound_json(inbound: Inbound) -> str:
    """A contact as its ticket's message (the script adds the id)."""
    data = {
        "direction": Direction.INBOUND.value,
        "channel": inbound.channel,
        "event": inbound.event,
        "external_id": inbound.external_id,
        "sender": inbound.sender.key,
        "recipient": inbound.recipient,
        "subject": inbound.subject,
        "body": inbound.text,
        "attachments": [_attachment_dict(a) for a in inbound.attachments],
        "meta": dict(inbound.meta),
        "at": ts(inbound.received_at),
        "key": inbound.dedupe_key,  # when not channel:external_id (a purge finds its entry)
    }
    return dumps({k: v for k, v in data.items() if v or k in _ALWAYS})


_ALWAYS = frozenset({"direction", "channel", "body", "at"})


def _attachment_dict(attachment: Attachment) -> dict[str, Any]:
    fields = ("name", "content_type", "size", "sha256", "url")
    return {f: getattr(attachment, f) for f in fields if getattr(attachment, f) is not None}


def outbound_json(body: str, author: str, now: datetime, via: Via) -> str:
    """A message to the customer as its ticket's message (the script adds the id and the
    channel)."""
    data: dict[str, Any] = {"direction": Direction.OUTBOUND.value, "body": body, "author": author}
    if via.automatic:
        data["meta"] = {"automatic": via.automatic}
    return dumps({**data, "delivery": via.delivery, "at": ts(now)})


def message_from_json(ticket_id: int, text: str) -> Message:
    data = loads(text)
    get = data.get
    return Message(
        id=data["id"],
        ticket_id=ticket_id,
        direction=Direction(data["direction"]),
        channel=data["channel"],
        body=data["body"],
        at=dt(float(data["at"])),
        external_id=get("external_id", ""),
        event=get("event", "message"),
        sender=get("sender", ""),
        recipient=get("recipient", ""),
        subject=get("subject", ""),
        attachments=tuple(Attachment(**a) for a in get("attachments", ())),
        author=get("author", ""),
        delivery=get("delivery", ""),
        error=get("error", ""),
        meta=get("meta") or {},
        edited_at=opt_dt(get("edited_at")),
        deleted_at=opt_dt(get("deleted_at")),
    )


def inbound_from_json(text: str) -> Inbound:
    """A ticket's first message as the contact the router saw."""
    data = loads(text)
    get = data.get
    kind, _, value = data["sender"].partition(":")
    return Inbound(
        channel=data["channel"],
        external_id=get("external_id", ""),
        sender=Identity(kind, value),
        text=data["body"],
        received_at=dt(float(data["at"])),
        event=get("event", "message"),
        recipient=get("recipient", ""),
        subject=get("subject", ""),
        attachments=tuple(Attachment(**a) for a in get("attachments", ())),
        meta=get("meta", {}),
    )


def customer_from_fields(customer_id: int, fields: Fields) -> Customer:
    """A customer hash: name, created, tags, "id:<identity>" -> when it was linked, and the
    survivor it was merged into, if it was."""
    linked = sorted((float(at), key[3:]) for key, at in fields.items() if key.startswith("id:"))
    identities = tuple(Identity(*key.split(":", 1)) for _, key in linked)
    merged_into = fields.get("merged_into")
    return Customer(
        customer_id,
        fields.get("name", ""),
        dt(float(fields["created"])),
        identities,
        tuple(loads(fields.get("tags", "[]"))),
        None if merged_into is None else int(merged_into),
    )


def rules_json(source: str, author: str, now: datetime) -> str:
    return dumps({"source": source, "author": author, "created_at": now.timestamp()})


def rules_from_json(version: int, text: str) -> RulesVersion:
    data = loads(text)
    return RulesVersion(version, data["source"], data["author"], dt(data["created_at"]))
