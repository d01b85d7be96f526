"""What the record says of each ticket a report counts: a fold of events into `TicketFacts`.

A report covers the tickets created in its window [start, end) (a cohort): each ticket's
facts come from its events stamped before `end`, so a report of a closed period never
changes. The customers' messages are also followed `follow_up` past the end, for repeat
contacts. The fold is pure and incremental (`Ledger.add`, one event at a time in sequence
order), so the caller reads the record page by page and keeps only the facts.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.record import ActorKind, EventKind, TicketEvent

FOLLOW_UP = timedelta(hours=72)
"""How long after a resolution a customer's new message counts as a repeat contact."""
DONE = frozenset({"resolved", "closed"})
FAILED = frozenset({"failed", "undelivered"})  # core.model.FAILED_DELIVERY


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    follow_up: timedelta = FOLLOW_UP

    @property
    def read_until(self) -> datetime:
        """Where the record must be read to: the end, and the repeat contacts after it."""
        return self.end + self.follow_up


@dataclass(frozen=True, slots=True)
class Route:
    """How a ticket was routed when it was created: what its SLA targets follow."""

    queue: str
    priority: str
    rule: str | None


NO_ROUTE = Route("", "normal", None)


@dataclass(slots=True)
class TicketFacts:
    """One ticket of the cohort as its record stood at the window's end."""

    ticket_id: int
    created_at: datetime
    queue: str | None
    channel: str | None = None
    customer: str | None = None
    asked_at: datetime | None = None
    """When its customer first wrote (an ingest's: at its creation; a follow-up's: later):
    its first response is counted from here."""
    first_response_at: datetime | None = None
    first_responder: str | None = None
    replies: int = 0
    """Agents' replies that did not fail (acknowledgements are no replies)."""
    resolved_at: datetime | None = None
    """When it was last resolved (or closed unresolved), if it was so at the end."""
    agents: set[str] = field(default_factory=set)
    """Agents who held it or replied."""
    held: dict[str, float] = field(default_factory=dict)
    """Seconds each agent held it while it was not resolved (handle time)."""
    assignee: str | None = None
    hold_start: datetime | None = None
    reply_log: dict[int, tuple[datetime, str]] = field(default_factory=dict)
    """Agents' replies by message id: when, by whom."""
    failed_replies: set[int] = field(default_factory=set)
    owners: list[tuple[datetime, str]] = field(default_factory=list)
    """Whose it was from when: its first customer, then each merge's (or unmerge's)."""
    repeat: bool = False
    """A customer's message came within the follow-up after its resolution, from the
    customer the ticket belonged to when they wrote: a repeat contact (set by `facts`)."""
    route: Route = NO_ROUTE
    breaches: set[str] = field(default_factory=set)
    """The SLA clocks whose breach is on its record (by metric name)."""


class Ledger:
    """The facts of a window's cohort and the customers' messages, built event by event."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._start, self._end, self._until = window.start, window.end, window.read_until
        self.tickets: dict[int, TicketFacts] = {}
        self.contacts: dict[str, list[datetime]] = {}
        """Each customer's messages (any ticket, any channel) from the start on."""

    def add(self, event: TicketEvent) -> None:
        """Fold one event in; events come in sequence order."""
        customer = event.kind is EventKind.MESSAGE_IN and event.actor.kind is ActorKind.CUSTOMER
        if customer and self._start <= event.at < self._until:
            self.contacts.setdefault(event.actor.name, []).append(event.at)
        if event.at >= self._end:
            return
        facts = self.tickets.get(event.ticket_id)
        if facts is None:
            if event.kind is EventKind.CREATED and event.at >= self._start:
                self.tickets[event.ticket_id] = _created(event)
            return
        _apply(facts, event)

    def add_all(self, events: Iterable[TicketEvent]) -> None:
        for event in events:
            self.add(event)

    def facts(self) -> list[TicketFacts]:
        """The cohort's facts at the window's end (holds still running end there)."""
        for facts in self.tickets.values():
            _stop_hold(facts, self.window.end)
        for times in self.contacts.values():
            times.sort()  # commits of several hubs may interleave slightly out of time order
        for facts in self.tickets.values():
            facts.repeat = _came_back(facts, self.contacts, self.window.follow_up)
        return sorted(self.tickets.values(), key=lambda f: f.ticket_id)


def _came_back(
    facts: TicketFacts, contacts: dict[str, list[datetime]], follow_up: timedelta
) -> bool:
    """Whether a message came in (resolved, resolved + follow_up] from the customer whose
    the ticket was when it came (a merge moves a ticket, not the messages before it)."""
    resolved = facts.resolved_at
    if resolved is None:
        return False
    ends = [since for since, _ in facts.owners[1:]] + [resolved + follow_up + _TICK]
    for (since, customer), until in zip(facts.owners, ends, strict=True):
        times = contacts.get(customer, [])
        low = max(resolved, since - _TICK)  # strictly after both
        first = bisect.bisect_right(times, low)
        if first < len(times) and times[first] < until and times[first] <= resolved + follow_up:
            return True
    return False


_TICK = timedelta(microseconds=1)


def _created(event: TicketEvent) -> TicketFacts:
    detail = event.detail
    queue = _text(detail.get("queue"))
    route = Route(queue or "", str(detail.get("priority") or "normal"), _text(detail.get("rule")))
    channel = _text(detail.get("channel"))  # a follow-up's; an ingest's comes with its message
    return TicketFacts(event.ticket_id, event.at, queue, channel, route=route)


def _apply(facts: TicketFacts, event: TicketEvent) -> None:
    kind, detail = event.kind, event.detail
    if kind is EventKind.MESSAGE_IN:
        facts.channel = facts.channel or _text(detail.get("channel"))
        if facts.customer is None and event.actor.kind is ActorKind.CUSTOMER:
            facts.customer = event.actor.name
            facts.owners.append((event.at, facts.customer))
        if facts.asked_at is None and event.actor.kind is ActorKind.CUSTOMER:
            facts.asked_at = event.at
    elif kind is EventKind.REPLY_OUT:
        _reply(facts, event)
    elif kind is EventKind.DELIVERY and detail.get("status") in FAILED:
        _fail(facts, detail.get("message_id"))
    elif kind is EventKind.QUEUE:
        facts.queue = _text(detail.get("to"))
    elif kind is EventKind.CUSTOMER_MERGED or kind is EventKind.CUSTOMER_UNMERGED:
        facts.customer = str(detail.get("to"))
        facts.owners.append((event.at, facts.customer))
    elif kind is EventKind.SLA_BREACH:
        facts.breaches.add(str(detail.get("metric") or ""))
    _move(facts, event)


def _reply(facts: TicketFacts, event: TicketEvent) -> None:
    message_id = event.detail.get("message_id")
    if event.actor.kind is not ActorKind.AGENT or not isinstance(message_id, int):
        return
    facts.agents.add(event.actor.name)
    if facts.customer is None:  # before the customer wrote (a follow-up) it answers nothing
        return
    facts.reply_log[message_id] = (event.at, event.actor.name)
    _count_replies(facts)


def _fail(facts: TicketFacts, message_id: object) -> None:
    if isinstance(message_id, int) and message_id in facts.reply_log:
        facts.failed_replies.add(message_id)
        _count_replies(facts)


def _count_replies(facts: TicketFacts) -> None:
    """The first response is the first reply that did not fail (a later bounce undoes it)."""
    good = sorted(v for k, v in facts.reply_log.items() if k not in facts.failed_replies)
    facts.replies = len(good)
    facts.first_response_at, facts.first_responder = good[0] if good else (None, None)


def _move(facts: TicketFacts, event: TicketEvent) -> None:
    """Status and assignee, and the hold (an assignee on an unresolved ticket) they make."""
    kind, detail = event.kind, event.detail
    if kind is EventKind.STATUS:
        moved_to = detail.get("to")
        if moved_to in DONE:
            facts.resolved_at = facts.resolved_at or event.at
        else:
            facts.resolved_at = None
    elif kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED):
        _stop_hold(facts, event.at)
        facts.assignee = _text(detail.get("to"))
        if facts.assignee:
            facts.agents.add(facts.assignee)
    if facts.resolved_at is not None:
        _stop_hold(facts, event.at)
    elif facts.assignee and facts.hold_start is None:
        facts.hold_start = event.at


def _stop_hold(facts: TicketFacts, at: datetime) -> None:
    if facts.hold_start is not None and facts.assignee:
        seconds = max(0.0, (at - facts.hold_start).total_seconds())
        facts.held[facts.assignee] = facts.held.get(facts.assignee, 0.0) + seconds
    facts.hold_start = None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
