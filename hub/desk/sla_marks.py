"""The SLA marks a change leaves, computed where the hub makes the change (router/sla/marks.py)
from the ticket's record as it is read just before, and carried to the store with the change,
which writes them in the same atomic step (unless the record moved on in between: then the
watcher computes them from the whole record, hub/desk/sla_watch.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from core.deadlines import SlaMarks
from core.model import TicketChange
from core.record import Actor
from hub.rules.routing import RulesRouter
from router.sla import lookup_in
from router.sla.marks import after_change, after_reply
from storage.base import Store


async def with_marks(
    store: Store, router: RulesRouter, ticket_id: int, change: TicketChange, now: datetime
) -> TicketChange:
    """The change, carrying the marks it leaves."""
    events = await store.ticket_events(ticket_id)
    lookup = lookup_in(router.rules.ruleset.doc)
    return dataclasses.replace(change, sla=after_change(ticket_id, events, change, lookup, now))


async def reply_marks(
    store: Store, router: RulesRouter, ticket_id: int, actor: Actor, now: datetime
) -> SlaMarks:
    """The marks an agent's reply leaves."""
    events = await store.ticket_events(ticket_id)
    return after_reply(ticket_id, events, actor, lookup_in(router.rules.ruleset.doc), now)
