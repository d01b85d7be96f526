"""Working a ticket: change it, note on it, transfer or escalate it, read its record.

Every change goes to the store as one `TicketChange`, applied atomically against the ticket as
it is then (so two hubs' concurrent changes both land, each on the record, or the later one
is refused with 409), with the caller as its actor. People on tickets: an assignee must be a
person (`Store.known_person`, 400 otherwise); `null` unassigns, and the ticket waits again.
An agent may take a ticket for themselves and give up their own, and transfer or escalate
their own or an unassigned one; touching a ticket someone else holds, or assigning someone
else, needs a supervisor (403). The store checks whom the ticket is held by in its atomic
step (HeldByOther), so no race slips an agent past it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.base import utcnow
from core.errors import Conflict, Forbidden, HeldByOther, InvalidRequest
from core.model import UNASSIGN, Cause, Priority, Role, Status, Ticket, TicketChange, Token
from core.record import Actor, EventKind
from hub.api.auth import granted, require
from hub.api.sla import ticket_with_clocks
from hub.api.views import event_json
from hub.desk.sla_marks import with_marks
from hub.params import json_body, newest, one_of, optional_str, path_id, query_params, tag_list
from hub.state import OFFERER, ROUTER, STORE
from router.workflow import escalation_target

_FIELDS = frozenset({"status", "priority", "queue", "assignee", "tags"})


async def update_ticket(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    data = await _fields(request, _FIELDS)
    queue = _queue(request, data)
    if queue is not None and not granted(token, Role.SUPERVISOR):
        raise Forbidden("moving work between queues is a supervisor's call (or transfer it)")
    assignee = await _assignee(request, data)
    if assignee not in (None, UNASSIGN, token.name) and not granted(token, Role.SUPERVISOR):
        raise Forbidden("agents take tickets for themselves; assigning others needs a supervisor")
    change = TicketChange(
        status=one_of(Status, data.get("status"), "status"),
        priority=one_of(Priority, data.get("priority"), "priority"),
        queue=queue,
        assignee=assignee,
        tags=tag_list(data.get("tags")),
        actor=Actor.agent(token.name),
        holder=_holder(token) if assignee is not None else None,
    )
    return web.json_response(await ticket_with_clocks(request, await _apply(request, change)))


async def add_note(request: web.Request) -> web.Response:
    """`{"body"}`: an internal note on the ticket's record, never sent (201)."""
    token = require(request, Role.AGENT)
    data = await _fields(request, frozenset({"body"}))
    body = _text(data, "body")
    note = await request.config_dict[STORE].add_note(
        path_id(request), body, Actor.agent(token.name), utcnow()
    )
    return web.json_response(event_json(note), status=201)


async def transfer(request: web.Request) -> web.Response:
    """`{"queue"?, "assignee"?, "note"?}`: hand the ticket to a queue (where it waits,
    unassigned, unless a person is named) and/or a person, in one change: a `transferred`
    event carrying the note, then the queue's and assignee's events."""
    token = require(request, Role.AGENT)
    data = await _fields(request, frozenset({"queue", "assignee", "note"}))
    queue, person = _queue(request, data), await _assignee(request, data)
    if queue is None and person in (None, UNASSIGN):
        raise InvalidRequest("a transfer names a queue, a person, or both")
    note = optional_str(data, "note") or ""
    change = TicketChange(
        queue=queue,
        assignee=UNASSIGN if person is None else person,
        actor=Actor.agent(token.name),
        cause=Cause(EventKind.TRANSFERRED, {"note": note}),
        holder=_holder(token),
    )
    return web.json_response(await ticket_with_clocks(request, await _apply(request, change)))


async def escalate(request: web.Request) -> web.Response:
    """`{"reason"}`: to the next tier (router/workflow.py `escalation_target` of the rules in
    force), unassigned so the next tier's people get it; 409 when there is nowhere higher."""
    token = require(request, Role.AGENT)
    reason = _text(await _fields(request, frozenset({"reason"})), "reason")
    ticket = await request.config_dict[STORE].get_ticket(path_id(request))
    target = escalation_target(request.config_dict[ROUTER].queues, ticket.queue)
    if target is None:
        raise Conflict(f"queue {ticket.queue!r} is the top tier: nowhere higher to escalate")
    change = TicketChange(
        queue=target,
        assignee=UNASSIGN,
        actor=Actor.agent(token.name),
        cause=Cause(EventKind.ESCALATED, {"reason": reason}),
        holder=_holder(token),
        in_queue=ticket.queue,  # escalated from where it was when the target was chosen
    )
    return web.json_response(await ticket_with_clocks(request, await _apply(request, change)))


async def ticket_events(request: web.Request) -> web.Response:
    """The ticket's record, oldest first: whole, or its newest `?last=N` events (`total`
    counts them all)."""
    last = newest(query_params(request, ("last",)), "last")
    events = await request.config_dict[STORE].ticket_events(path_id(request))
    shown = events if last is None else events[-last:]
    return web.json_response(
        {"items": [event_json(e) for e in shown], "next": None, "total": len(events)}
    )


async def _apply(request: web.Request, change: TicketChange) -> Ticket:
    store, ticket_id, now = request.config_dict[STORE], path_id(request), utcnow()
    change = await with_marks(store, request.config_dict[ROUTER], ticket_id, change, now)
    try:
        ticket = await store.update_ticket(ticket_id, change, now)
    except HeldByOther as held:
        raise Forbidden(
            f"{held.message}: someone else's ticket is a supervisor's to move"
        ) from held
    request.config_dict[OFFERER].kick()  # it may wait now, or its holder may have room
    return ticket


def _holder(token: Token) -> str | None:
    """Whom the ticket must be held by (or nobody) for the caller to move it."""
    return None if granted(token, Role.SUPERVISOR) else token.name


async def _fields(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    data = await json_body(request)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    return data


def _queue(request: web.Request, data: dict[str, Any]) -> str | None:
    queue = optional_str(data, "queue")
    if queue is not None and queue not in request.config_dict[ROUTER].queues:
        raise InvalidRequest(f"unknown queue {queue!r}")
    return queue


async def _assignee(request: web.Request, data: dict[str, Any]) -> str | None:
    """None when not given; UNASSIGN for `null`; else a known person's name."""
    if "assignee" not in data:
        return None
    name = optional_str(data, "assignee")
    if name is None:
        return UNASSIGN
    if not name or not await request.config_dict[STORE].known_person(name):
        raise InvalidRequest(f"unknown assignee {name!r}: not a person of this hub")
    return name


def _text(data: dict[str, Any], key: str) -> str:
    value = optional_str(data, key)
    if value is None or not value.strip():
        raise InvalidRequest(f'{key} is required: {{"{key}": "<text>"}}')
    return value


ROUTES = [
    web.patch("/tickets/{id}", update_ticket),
    web.post("/tickets/{id}/notes", add_note),
    web.post("/tickets/{id}/transfer", transfer),
    web.post("/tickets/{id}/escalate", escalate),
    web.get("/tickets/{id}/events", ticket_events),
]
