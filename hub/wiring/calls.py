"""The hub's side of calls: where a call waits, and how a call's later events move its ticket.

The voice channel asks `CallDesk.placement` about a committed call: the queue its ticket is
in (the commit says), whether that queue's calendar (rules file: `queues.<name>.calendar`)
is open at the moment of the call, and how many tickets wait in it. A call's later events
(callback request, voicemail, missed call) append to the call's ticket, which the store
does not route again; `Rerouting` re-asks the router for them, and when a rule (not the
default) fires, the unclaimed ticket moves to that rule's queue, raises its priority and
takes its tags.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from channels.twilio.voice import NAME as VOICE
from channels.twilio.voice import QueueState
from core.model import (
    ACTIVE_STATUSES,
    CustomerFacts,
    Decision,
    Event,
    Inbound,
    IngestResult,
    Ticket,
    TicketChange,
    TicketFilter,
)
from core.record import Actor
from hub.desk.sla_marks import with_marks
from hub.rules.routing import RulesRouter
from storage.base import Store

log = structlog.get_logger("contacthub.calls")

REROUTED_EVENTS = frozenset({Event.CALLBACK_REQUEST, Event.MISSED_CALL, Event.VOICEMAIL})
_HISTORY_LIMIT = 200


@dataclass(frozen=True, slots=True)
class CallDesk:
    store: Store
    router: RulesRouter

    async def placement(self, result: IngestResult, at: datetime) -> QueueState:
        ruleset = self.router.rules.ruleset  # one read: the rules in force now
        spec = ruleset.queues.get(result.queue)
        name = None if spec is None else spec.calendar
        calendar = None if name is None else ruleset.calendars.get(name)
        is_open = calendar is None or calendar.is_open(at)  # no calendar: always open
        depth = await self.store.queue_depth(result.queue)
        return QueueState(result.queue, is_open, depth.waiting)


Enrol = Callable[[Inbound, IngestResult, Decision], Awaitable[None]]
"""Puts the caller into the campaign a decision names (hub/campaigns/desk.py)."""


@dataclass(frozen=True, slots=True)
class Rerouting:
    """After the commit of a call's later event: a rule that fires moves the call's ticket."""

    store: Store
    router: RulesRouter
    enrol: Enrol | None = None  # a fired rule's `campaign:`

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        if result.created or inbound.channel != VOICE or inbound.event not in REROUTED_EVENTS:
            return  # a new ticket was routed by its commit
        ticket = await self.store.get_ticket(result.ticket_id)
        if ticket.assignee is not None or ticket.status not in ACTIVE_STATUSES:
            return  # an agent has it, or it is done: a rule must not take it away
        decision = self.router.decide(inbound, await self._facts(ticket))
        if decision.campaign and decision.rule is not None and self.enrol is not None:
            await self.enrol(inbound, result, decision)
        change = ticket_change(ticket, decision)
        if change is not None:
            now = datetime.now(UTC)
            change = await with_marks(self.store, self.router, ticket.id, change, now)
            await self.store.update_ticket(ticket.id, change, now)
            log.info(
                "ticket_rerouted",
                ticket_id=ticket.id,
                contact_event=inbound.event,
                rule=decision.rule,
            )

    async def _facts(self, ticket: Ticket) -> CustomerFacts:
        if not self.router.needs_history:
            return CustomerFacts(ticket.customer_id)
        customer = await self.store.get_customer(ticket.customer_id)
        page = await self.store.list_tickets(TicketFilter(customer_id=customer.id), _HISTORY_LIMIT)
        open_tickets = sum(t.status in ACTIVE_STATUSES for t in page.items)
        return CustomerFacts(customer.id, customer.tags, open_tickets)


def ticket_change(ticket: Ticket, decision: Decision) -> TicketChange | None:
    """What a fired rule changes on a ticket; None when no rule fired or nothing changes."""
    if decision.rule is None:
        return None  # the default never moves a ticket a rule or an agent placed
    queue = decision.queue if decision.queue != ticket.queue else None
    priority = decision.priority if decision.priority.rank > ticket.priority.rank else None
    tags = tuple(dict.fromkeys((*ticket.tags, *decision.tags)))
    new_tags = tags if tags != ticket.tags else None
    if queue is None and priority is None and new_tags is None:
        return None
    return TicketChange(
        queue=queue, priority=priority, tags=new_tags, actor=Actor.by_rule(decision.rule)
    )
