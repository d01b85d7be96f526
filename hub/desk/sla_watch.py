"""The SLA watcher: keeps each ticket's deadlines in the store and acts on each when due,
once, across every hub instance and restart.

Two duties, each its own loop every `interval` seconds (a backlog of one never delays the
other):
- *fire*: claim the deadlines due (the store hands each to one instance, for `LEASE`), and
  for each whose clock is now in the state it was for and whose event is not on the record
  yet, write `sla_warning` / `sla_breach` and what `on_breach` asks, in one change carrying
  the marks it leaves (router/sla/marks.py); count the breach; finish the deadline. The acts
  of one claim run together (SQLite's group commit writes them in one transaction). An
  instance that dies holding a claim lets it go when the lease ends, and another acts on
  it; the record check keeps the act single.
- *follow*, the safety net: the hub writes each ticket's marks (standing, clocks, deadlines)
  with the change that moves them, but a change whose record moved on meanwhile, a delivery
  that failed, a hub killed between a customer's message and its marks on Redis, or a rules
  reload leave them behind. So the watcher reads the record past the checkpoint `sla_watch`
  (kept in the store: a restart resumes there) and keeps the marks of every ticket an event
  touched as its whole record says (`Store.set_sla`, not over a change that lands in
  between). Every instance follows; writing the same marks again is harmless, and keeps a
  claimed deadline claimed. The records of tickets it saw made are held and extended from
  each batch, not read again (hub/desk/sla_records.py), and under rules without SLA a
  ticket made after every hub took them up needs nothing at all (hub/desk/sla_free.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta

import structlog

from core.deadlines import BREACH, Deadline, SlaMarks
from core.errors import Conflict, HubError
from core.record import EventKind, TicketEvent
from hub.background import running
from hub.desk.sla_free import unmarked_since
from hub.desk.sla_records import Records, created_at
from hub.metrics import Metrics
from hub.rules.routing import Rules, RulesRouter
from router.sla import clocks, lookup_in, terms_for
from router.sla.deadlines import due_now, firing, warning
from router.sla.marks import after_change, marks_at
from router.sla.timeline import MOVES_CLOCKS, read_timeline
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
AT_ONCE = 16
"""Deadlines claimed and acted on together (and tickets followed together): enough for
SQLite's group commit to write them in one transaction, few enough for a Redis connection
pool and for every act of a claim to be done well within its lease."""


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
        self.records = Records()
        self._rules_read: Rules | None = None
        self._since: datetime | None = None

    async def run(self, interval: float = INTERVAL) -> None:
        """Fire and follow until cancelled (one loop each)."""
        await asyncio.gather(
            self.every(interval, self.fire_all), self.every(interval, self.follow_all)
        )

    async def every(self, interval: float, duty: Callable[[], Awaitable[None]]) -> None:
        """The duty every `interval`; a failing round is logged and retried."""
        while True:
            try:
                await duty()
            except (HubError, OSError) as exc:  # storage down: the next round retries
                log.warning("sla_watch_failed", error=str(exc))
            await asyncio.sleep(interval)

    async def round(self) -> None:
        """One round of both duties, following first (as the tests drive it)."""
        await self.follow_all()
        await self.fire_all()

    async def follow_all(self) -> None:
        while await self.follow():
            pass

    async def fire_all(self) -> None:
        while await self.fire():
            pass

    async def follow(self) -> bool:
        """Keep the marks of the tickets of the next events of the record; whether a full
        batch was read (more may follow)."""
        after = int(await self.store.get_checkpoint(CHECKPOINT) or 0)
        self.records.resume(after)
        await self._read_rules()
        events = await self.store.events_after(after, BATCH)
        if not events:
            return False
        known = self.records.take(events)  # every event: the records held stay whole
        # only the tickets whose clocks an event moved: offers, notes and tags, most of a
        # busy record, would each cost a read of a whole record for the same marks
        moved = dict.fromkeys(e.ticket_id for e in events if e.kind in MOVES_CLOCKS)
        touched = [
            ticket_id
            for ticket_id in moved
            if ticket_id not in known or not self._unmarked(known[ticket_id])
        ]  # what needs nothing is passed here, not handed to a task of its own
        for at in range(0, len(touched), AT_ONCE):
            chunk = touched[at : at + AT_ONCE]
            await _together(self.schedule(t, known.get(t)) for t in chunk)
        await self.store.set_checkpoint(CHECKPOINT, str(events[-1].seq))
        self.records.moved(events[-1].seq)
        return len(events) == BATCH

    async def schedule(
        self, ticket_id: int, record: Sequence[TicketEvent] | None = None, *, marked: bool = False
    ) -> None:
        """Keep the ticket's marks (standing, clocks, deadlines) as its whole record says
        now (`record`, when the follow holds it: hub/desk/sla_records.py); not when a change
        lands in between (its own marks, or the next round, do). `marked`: the ticket is
        known to hold marks (a deadline of it was claimed), so they are kept or cleared."""
        if record is None:
            record = await self.store.ticket_events(ticket_id)
            self.records.keep(ticket_id, record)
        if not marked and self._unmarked(record):
            return
        lookup = lookup_in(self.router.rules.ruleset.doc)
        events = list(record)  # a held record is made into events once, here
        basis = events[-1].seq if events else 0
        marks = marks_at(ticket_id, events, lookup, self.clock(), basis)
        if not _marked(marks):
            # no SLA applies: most tickets; write nothing unless marks are there to clear
            ticket = await self.store.get_ticket(ticket_id)
            if ticket is None or ticket.sla is None or not _marked(ticket.sla):
                return
        if not await self.store.set_sla(ticket_id, marks):
            self.records.forget(ticket_id)  # an event came after: the next round reads it

    async def _read_rules(self) -> None:
        """Since when tickets have no marks under the rules in force (read once a version)."""
        rules = self.router.rules
        if rules is not self._rules_read:
            self._since = await unmarked_since(self.store, rules.ruleset.doc, rules.version)
            self._rules_read = rules

    def _unmarked(self, record: Sequence[TicketEvent]) -> bool:
        """No marks to keep or clear: the rules set no SLA, and every hub had taken them up
        when the ticket was made (hub/desk/sla_free.py)."""
        if self._since is None or self.router.rules is not self._rules_read:
            return False
        made = created_at(record)
        return made is not None and made >= self._since

    async def fire(self) -> bool:
        """Act on the deadlines due; whether a full batch was claimed (more may wait)."""
        started = time.monotonic()
        # A few at a time, all acted on at once: a claim never waits behind others' acts
        # until its lease runs out (on a busy hub, a big claim's tail would lapse).
        claimed = await self.store.claim_deadlines(self.clock(), LEASE, AT_ONCE)
        await _together(self.act(deadline, started) for deadline in claimed)
        return len(claimed) == AT_ONCE

    async def act(self, deadline: Deadline, claimed_at: float) -> None:
        record = await self.store.ticket_events(deadline.ticket_id)
        doc = self.router.rules.ruleset.doc
        now = self.clock()
        clock = clocks(record, lookup_in(doc), now).get(Metric(deadline.metric))
        if time.monotonic() - claimed_at > LEASE.total_seconds() / 2:
            return  # the claim may lapse before the write: whoever claims it next acts
        if due_now(deadline, clock, record) and await self._fire(deadline, record, now):
            await self.store.finish_deadline(deadline)
            return  # its marks (the next deadlines) came with its change
        await self.store.finish_deadline(deadline)
        await self.schedule(deadline.ticket_id, marked=True)

    async def _fire(self, deadline: Deadline, record: list[TicketEvent], now: datetime) -> bool:
        """Write the warning or breach with the marks it leaves; whether they were written."""
        doc = self.router.rules.ruleset.doc
        queue = _queue_at(record, now)
        if deadline.kind == BREACH:  # what on_breach does depends on the ticket as it is
            ticket = await self.store.get_ticket(deadline.ticket_id)
            rule = ticket.route.rule if ticket.queue == _routed_queue(record) else None
            terms = terms_for(doc, ticket.queue, ticket.priority, rule)
            change, queue = firing(deadline, ticket, terms, doc.queues), ticket.queue
        else:
            change = warning(deadline, queue)
        marks = after_change(deadline.ticket_id, record, change, lookup_in(doc), now)
        try:
            after = await self.store.update_ticket(
                deadline.ticket_id, dataclasses.replace(change, sla=marks), now
            )
        except Conflict as exc:  # another hub acted first (or the ticket moved on)
            log.info("sla_not_fired", ticket=deadline.ticket_id, reason=str(exc))
            return False
        self.fired += 1
        if deadline.kind == BREACH:
            self.metrics.sla_breaches.labels(queue, deadline.metric).inc()
        log.info("sla_fired", ticket=deadline.ticket_id, metric=deadline.metric, kind=deadline.kind)
        return after.sla is not None and after.sla.at == marks.at


def _marked(marks: SlaMarks) -> bool:
    return bool(marks.standing or marks.clocks or marks.deadlines)


async def _together(steps: Iterable[Awaitable[None]]) -> None:
    """Run the steps at once; the first failure is raised once all have ended."""
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def _queue_at(record: list[TicketEvent], now: datetime) -> str:
    timeline = read_timeline(record, now)
    return "" if timeline is None else timeline.last.queue


def _routed_queue(record: list[TicketEvent]) -> str | None:
    created = next((e for e in record if e.kind is EventKind.CREATED), None)
    return None if created is None else str(created.detail.get("queue"))


def watching(watcher: SlaWatcher, interval: float = INTERVAL) -> AsyncIterator[None]:
    """The watcher for the app's lifetime (a `cleanup_ctx` body): its two loops, their
    failures counted in the watcher's metrics."""

    async def firing() -> None:
        await watcher.every(interval, watcher.fire_all)

    async def following() -> None:
        await watcher.every(interval, watcher.follow_all)

    return running(firing, following, failed=watcher.metrics.background_failed)
