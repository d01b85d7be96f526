"""A ticket's record read for its clocks: the stretches of its life (status, queue,
priority constant within each), the customer's messages and the replies that count.

A reply counts from the moment it was written (`reply_out`), unless a delivery of it failed
(then it never reached the customer, and no clock stops for it). Only events at or before
`now` are read, so a timeline at `now` is what could be known then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.model import FAILED_DELIVERY, Priority, Status
from core.record import EventKind, TicketEvent

RUNNING = frozenset({Status.NEW, Status.OPEN})
"""Statuses in which clocks run: pending pauses them, resolved and closed stop them."""
SOLVED = frozenset({Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True, slots=True)
class Stretch:
    """A span of the ticket's life in which nothing the clocks read changed."""

    start: datetime
    end: datetime
    status: Status
    queue: str
    priority: Priority

    @property
    def running(self) -> bool:
        return self.status in RUNNING


@dataclass(frozen=True, slots=True)
class Timeline:
    created_at: datetime
    routed_queue: str
    rule: str | None
    stretches: tuple[Stretch, ...]
    messages: tuple[datetime, ...]  # the customer's, oldest first
    replies: tuple[datetime, ...]  # the ones that count, oldest first
    solves: tuple[datetime, ...]  # moves from a live status into resolved or closed

    @property
    def last(self) -> Stretch:
        return self.stretches[-1]


MOVES_CLOCKS = frozenset(
    {
        EventKind.CREATED,
        EventKind.MESSAGE_IN,
        EventKind.REPLY_OUT,
        EventKind.DELIVERY,
        EventKind.STATUS,
        EventKind.QUEUE,
        EventKind.PRIORITY,
        EventKind.SLA_WARNING,  # a deadline on the record is no deadline any more
        EventKind.SLA_BREACH,
    }
)
"""The events a ticket's clocks and deadlines are read from: any other (a note, an offer,
tags, an assignment) leaves its marks as they were."""


def read_timeline(events: Sequence[TicketEvent], now: datetime) -> Timeline | None:
    """The timeline of a record up to `now`; None before the ticket was created."""
    known = [e for e in events if e.at <= now]
    created = next((e for e in known if e.kind is EventKind.CREATED), None)
    if created is None:
        return None
    failed = {
        e.detail.get("message_id")
        for e in known
        if e.kind is EventKind.DELIVERY and e.detail.get("status") in FAILED_DELIVERY
    }
    return Timeline(
        created.at,
        str(created.detail.get("queue")),
        _text(created.detail.get("rule")),
        _stretches(created, known, now),
        tuple(e.at for e in known if e.kind is EventKind.MESSAGE_IN),
        tuple(
            e.at
            for e in known
            if e.kind is EventKind.REPLY_OUT and e.detail.get("message_id") not in failed
        ),
        tuple(e.at for e in known if e.kind is EventKind.STATUS and _solves(e)),
    )


def _stretches(
    created: TicketEvent, events: Sequence[TicketEvent], now: datetime
) -> tuple[Stretch, ...]:
    status, queue = Status.NEW, str(created.detail.get("queue"))
    priority = Priority(str(created.detail.get("priority") or Priority.NORMAL))
    start, out = created.at, []
    for event in events:
        if event.kind not in (EventKind.STATUS, EventKind.QUEUE, EventKind.PRIORITY):
            continue
        if event.at > start:
            out.append(Stretch(start, event.at, status, queue, priority))
            start = event.at
        if event.kind is EventKind.STATUS:
            status = Status(_to(event))
        elif event.kind is EventKind.QUEUE:
            queue = _to(event)
        else:
            priority = Priority(_to(event))
    out.append(Stretch(start, max(now, start), status, queue, priority))
    return tuple(out)


def _solves(event: TicketEvent) -> bool:
    """A move into resolved or closed from a live status (resolved -> closed solves nothing
    new: the ticket was solved when it was resolved)."""
    return _to(event) in SOLVED and str(event.detail.get("from")) not in SOLVED


def _to(event: TicketEvent) -> str:
    return str(event.detail.get("to"))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
