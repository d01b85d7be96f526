"""A ticket's SLA clocks for its JSON: computed on read from its record and the rules in
force (router/sla), at the app's clock."""

from __future__ import annotations

from aiohttp import web

from core.model import Ticket
from core.record import TicketEvent
from hub.api.views import Json, iso, ticket_json
from hub.state import CLOCK, ROUTER, STORE
from router.sla import Clock, clocks, lookup_in
from router.spec import Metric


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
    body = ticket_json(ticket, with_messages=with_messages)
    body["sla"].update(sla_json(found))
    return body


def sla_json(found: dict[Metric, Clock]) -> Json:
    """`{METRIC: {"due_at", "state", "business_seconds"}}` for each metric with a target."""
    return {
        metric.value: {
            "due_at": iso(clock.due_at),
            "state": clock.state.value,
            "business_seconds": round(clock.business_seconds, 3),
        }
        for metric, clock in found.items()
    }
