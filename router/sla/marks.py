"""A ticket's SLA marks (core.deadlines.SlaMarks): its clocks, standing and deadlines at a
moment, computed where a change is made so that the store keeps them in the change's own
atomic step; the events a change will record, foreseen for that; and marks carried forward
to a later moment for a listing, without the record. Pure: time is an argument."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from core.deadlines import AT_RISK, BREACHED, ClockMark, SlaMarks
from core.model import Decision, Inbound, Status, TicketChange
from core.record import SYSTEM, Actor, Detail, EventKind, TicketEvent
from router.hours import Calendar
from router.sla.business import business_time
from router.sla.clock import Clock, ClockState, clocks
from router.sla.deadlines import deadlines_for
from router.sla.policy import Lookup
from router.sla.timeline import read_timeline
from router.spec import Metric


def marks_at(
    ticket_id: int,
    events: Sequence[TicketEvent],
    lookup: Lookup,
    now: datetime,
    basis: int | None = None,
) -> SlaMarks:
    """The ticket's marks at `now` from its whole record (at its newest event, if that is
    later: a hub whose clock runs behind the one that wrote it must not find no clocks)."""
    now = max((now, *(event.at for event in events)))
    found = clocks(events, lookup, now)
    return SlaMarks(
        now,
        standing(found),
        tuple(mark(clock) for clock in found.values()),
        tuple(deadlines_for(ticket_id, found, events)),
        basis,
    )


def standing(found: Mapping[Metric, Clock]) -> str:
    """Breached when a running clock breached, else at risk when one warned, else ""."""
    return standing_of(mark(clock) for clock in found.values())


def standing_of(marks: Iterable[ClockMark]) -> str:
    running = {clock.state for clock in marks if clock.running}
    if ClockState.BREACHED in running:
        return BREACHED
    return AT_RISK if ClockState.WARNING in running else ""


def mark(clock: Clock) -> ClockMark:
    return ClockMark(
        clock.metric.value, clock.state.value, clock.due_at, clock.warn_at,
        clock.business_seconds, clock.running,
    )  # fmt: skip


def after_change(
    ticket_id: int, events: Sequence[TicketEvent], change: TicketChange, lookup: Lookup,
    now: datetime,
) -> SlaMarks:  # fmt: skip
    """The marks the change leaves, from the record it was decided on (its basis)."""
    return _after(ticket_id, events, foresee(events, change, now), lookup, now)


def after_reply(
    ticket_id: int, events: Sequence[TicketEvent], actor: Actor, lookup: Lookup, now: datetime
) -> SlaMarks:
    """The marks an agent's reply leaves (it counts until a delivery of it fails)."""
    timeline = read_timeline(events, now)
    foreseen = [_event(events, EventKind.REPLY_OUT, actor, now, {"message_id": 0})]
    if timeline is not None and timeline.last.status is Status.NEW:
        moved: dict[str, Detail] = {"from": Status.NEW, "to": Status.OPEN}
        foreseen.append(_event(events, EventKind.STATUS, actor, now, moved))
    return _after(ticket_id, events, foreseen, lookup, now)


def at_creation(inbound: Inbound, decision: Decision, lookup: Lookup) -> SlaMarks:
    """A new ticket's marks at its contact's time, from the events its commit records
    (the ticket id is the store's to fill in: its deadlines say 0)."""
    route: dict[str, Detail] = {
        "queue": decision.queue, "priority": decision.priority, "rule": decision.rule,
    }  # fmt: skip
    at = inbound.received_at
    events = [
        TicketEvent(1, 0, EventKind.CREATED, Actor.by_rule(decision.rule), at, route),
        TicketEvent(2, 0, EventKind.MESSAGE_IN, SYSTEM, at, {}),
    ]
    return marks_at(0, events, lookup, at)


def foresee(
    events: Sequence[TicketEvent], change: TicketChange, now: datetime
) -> list[TicketEvent]:
    """The events the change records that clocks read (its cause first, then the status,
    priority and queue it moves), as the store would number them."""
    timeline = read_timeline(events, now)
    if timeline is None:
        return []
    last = timeline.last
    out: list[TicketEvent] = []
    if change.cause is not None:
        out.append(_event([*events, *out], change.cause.kind, change.actor, now,
                          dict(change.cause.detail)))  # fmt: skip
    moves: tuple[tuple[EventKind, str, str | None], ...] = (
        (EventKind.STATUS, last.status, change.status),
        (EventKind.PRIORITY, last.priority, change.priority),
        (EventKind.QUEUE, last.queue, change.queue),
    )
    for kind, old, new in moves:
        if new is not None and new != old:
            detail: dict[str, Detail] = {"from": old, "to": new}
            out.append(_event([*events, *out], kind, change.actor, now, detail))
    return out


def carried(marks: SlaMarks, calendar: Calendar | None, now: datetime) -> tuple[ClockMark, ...]:
    """The clocks of `marks` at a later `now`, nothing having happened to the ticket since:
    a running clock's business time grows in its calendar, and it warns and breaches when
    its times come (as router/sla/clock.py would find from the record, under the same rules)."""
    if now <= marks.at:
        return marks.clocks
    return tuple(_carry(clock, calendar, marks.at, now) for clock in marks.clocks)


def _carry(clock: ClockMark, calendar: Calendar | None, at: datetime, now: datetime) -> ClockMark:
    if not clock.running:
        return clock
    elapsed = clock.business_seconds + business_time(calendar, at, now).total_seconds()
    state = clock.state
    if clock.due_at is not None and clock.due_at <= now:
        state = ClockState.BREACHED.value
    elif clock.warn_at is not None and clock.warn_at <= now and state == ClockState.ACTIVE:
        state = ClockState.WARNING.value
    return replace(clock, state=state, business_seconds=elapsed)


def _after(
    ticket_id: int,
    events: Sequence[TicketEvent],
    foreseen: Sequence[TicketEvent],
    lookup: Lookup,
    now: datetime,
) -> SlaMarks:
    basis = events[-1].seq if events else 0
    return marks_at(ticket_id, [*events, *foreseen], lookup, now, basis)


def _event(
    events: Sequence[TicketEvent], kind: EventKind, actor: Actor, at: datetime,
    detail: dict[str, Detail],
) -> TicketEvent:  # fmt: skip
    seq = events[-1].seq + 1 if events else 1
    ticket_id = events[-1].ticket_id if events else 0
    return TicketEvent(seq, ticket_id, kind, actor, at, detail)
