"""The SLA watcher: keeps each ticket's deadlines in the store and acts on each when due,
once, across every hub instance and restart.

Two duties, one loop every `interval` seconds:
- *follow*: read the record past the checkpoint `sla_watch` (kept in the store, so a restart
  resumes there), recompute the clocks of every ticket an event touched and replace its
  deadlines (a warning and a breach per running clock). Every instance follows; replacing a
  ticket's deadlines with the same ones is harmless, and keeps a claimed one claimed.
- *fire*: claim the deadlines due (the store hands each to one instance, for `LEASE`), and
  for each whose clock is now in the state it was for and whose event is not on the record
  yet, write `sla_warning` / `sla_breach` and what `on_breach` asks, in one change; count
  the breach; finish the deadline. An instance that dies holding a claim lets it go when the
  lease ends, and another acts on it; the record check keeps the act single.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import structlog

from core.deadlines import BREACH, Deadline
from core.errors import Conflict, HubError
from core.record import EventKind, TicketEvent
from hub.background import running
from hub.metrics import Metrics
from hub.rules.routing import RulesRouter
from router.sla import clocks, lookup_in, terms_for
from router.sla.deadlines import due_now, firing
from router.sla.marks import after_change, marks_at
from router.spec import Metric
from storage.base import Store

log = structlog.get_logger("contacthub.sla")

CHECKPOINT = "sla_watch"
INTERVAL = 1.0  # seconds between rounds: a deadline is acted on within about this
LEASE = timedelta(seconds=3)
"""How long a claim lasts: a hub killed holding one delays that act by at most this much.
An act takes milliseconds; one still short of writing at half the lease gives up (below),
so a claim never outlives the act that holds it."""
BATCH = 200


class SlaWatcher:
    """One hub's watcher; `fired` counts the warnings and breaches it acted on."""

    def __init__(
        self,
        store: Store,
        router: RulesRouter,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.router, self.metrics, self.clock = store, router, metrics, clock
        self.fired = 0

    async def run(self, interval: float = INTERVAL) -> None:
        """Follow and fire until cancelled; a failing round is logged and retried."""
        while True:
            try:
                await self.round()
            except (HubError, OSError) as exc:  # storage down: the next round retries
                log.warning("sla_watch_failed", error=str(exc))
            await asyncio.sleep(interval)

    async def round(self) -> None:
        while await self.follow():
            pass
        while await self.fire():
            pass

    async def follow(self) -> bool:
        """Reschedule the tickets of the next events of the record; whether there were any."""
        after = int(await self.store.get_checkpoint(CHECKPOINT) or 0)
        events = await self.store.events_after(after, BATCH)
        if not events:
            return False
        for ticket_id in dict.fromkeys(e.ticket_id for e in events):
            await self.schedule(ticket_id)
        await self.store.set_checkpoint(CHECKPOINT, str(events[-1].seq))
        return len(events) == BATCH

    async def schedule(self, ticket_id: int) -> None:
        """Keep the ticket's marks (standing, clocks, deadlines) as its whole record says
        now; not when a change lands in between (its own marks, or the next round, do)."""
        record = await self.store.ticket_events(ticket_id)
        lookup = lookup_in(self.router.rules.ruleset.doc)
        basis = record[-1].seq if record else 0
        await self.store.set_sla(
            ticket_id, marks_at(ticket_id, record, lookup, self.clock(), basis)
        )

    async def fire(self) -> bool:
        """Act on the deadlines due; whether a full batch was claimed (more may wait)."""
        started = time.monotonic()
        claimed = await self.store.claim_deadlines(self.clock(), LEASE, BATCH)
        for deadline in claimed:
            if time.monotonic() - started > LEASE.total_seconds() / 2:
                return True  # the rest of the claims may lapse: claim afresh
            await self.act(deadline, started)
        return len(claimed) == BATCH

    async def act(self, deadline: Deadline, claimed_at: float) -> None:
        record = await self.store.ticket_events(deadline.ticket_id)
        doc = self.router.rules.ruleset.doc
        now = self.clock()
        clock = clocks(record, lookup_in(doc), now).get(Metric(deadline.metric))
        if time.monotonic() - claimed_at > LEASE.total_seconds() / 2:
            return  # the claim may lapse before the write: whoever claims it next acts
        if due_now(deadline, clock, record):
            ticket = await self.store.get_ticket(deadline.ticket_id)
            rule = ticket.route.rule if ticket.queue == _routed_queue(record) else None
            terms = terms_for(doc, ticket.queue, ticket.priority, rule)
            change = firing(deadline, ticket, terms, doc.queues)
            marks = after_change(ticket.id, record, change, lookup_in(doc), now)
            change = dataclasses.replace(change, sla=marks)
            try:
                await self.store.update_ticket(ticket.id, change, now)
            except Conflict as exc:  # another hub acted first (or the ticket moved on)
                log.info("sla_not_fired", ticket=ticket.id, reason=str(exc))
            else:
                self.fired += 1
                if deadline.kind == BREACH:
                    self.metrics.sla_breaches.labels(ticket.queue, deadline.metric).inc()
                log.info("sla_fired", ticket=ticket.id, metric=deadline.metric, kind=deadline.kind)
        await self.store.finish_deadline(deadline)
        await self.schedule(deadline.ticket_id)


def _routed_queue(record: list[TicketEvent]) -> str | None:
    created = next((e for e in record if e.kind is EventKind.CREATED), None)
    return None if created is None else str(created.detail.get("queue"))


def watching(watcher: SlaWatcher, interval: float = INTERVAL) -> AsyncIterator[None]:
    """The watcher for the app's lifetime (a `cleanup_ctx` body)."""
    return running(lambda: watcher.run(interval))
