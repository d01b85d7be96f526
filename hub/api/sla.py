"""A ticket's SLA clocks for its JSON. A ticket read alone has them computed from its record
and the rules in force (router/sla), at the app's clock; a listed one has the marks its last
change left (Ticket.sla) carried forward to the app's clock, without reading its record."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from core.deadlines import ClockMark
from core.model import Ticket
from core.record import TicketEvent
from hub.api.views import Json, iso, ticket_json
from hub.state import CLOCK, PROVIDER_FILES, ROUTER, STORE
from router.sla import clocks, lookup_in, terms_for
from router.sla.marks import carried, mark, standing_of


async def ticket_with_clocks(
    request: web.Request,
    ticket: Ticket,
    events: list[TicketEvent] | None = None,
    *,
    with_messages: bool = True,
) -> Json:
    """The ticket's JSON, its `sla` block carrying each metric's clock."""
    if events is None:
        events = await request.config_dict[STORE].ticket_events(ticket.id)
    doc = request.config_dict[ROUTER].rules.ruleset.doc
    found = clocks(events, lookup_in(doc), request.config_dict[CLOCK]())
    fetched = request.config_dict[PROVIDER_FILES].serves
    body = ticket_json(ticket, with_messages=with_messages, fetched=fetched)
    body["sla"].update(sla_json(mark(clock) for clock in found.values()))
    return body


def listed_json(request: web.Request, ticket: Ticket) -> Json:
    """A listed ticket's JSON, its `sla` block from the marks kept with it."""
    body = ticket_json(ticket, with_messages=False)
    if ticket.sla is not None:
        doc = request.config_dict[ROUTER].rules.ruleset.doc
        calendar = terms_for(doc, ticket.queue, ticket.priority).calendar
        now = request.config_dict[CLOCK]()
        body["sla"].update(sla_json(carried(ticket.sla, calendar, now)))
    return body


def sla_json(found: Iterable[ClockMark]) -> Json:
    """`{METRIC: {"due_at", "state", "business_seconds"}}` for each metric with a target,
    and the ticket's `standing` (at_risk, breached or null)."""
    marks = list(found)
    body: Json = {
        clock.metric: {
            "due_at": iso(clock.due_at),
            "state": clock.state,
            "business_seconds": round(clock.business_seconds, 3),
        }
        for clock in marks
    }
    body["standing"] = standing_of(marks) or None
    return body
