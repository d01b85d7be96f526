"""SLA clocks: a ticket's record, the terms in force and `now` -> each metric's state, due
time and business time elapsed. Pure: no clock reads, no I/O.

Each metric measures one stretch of waiting (an *instance*) at a time:
- first_response: from creation to the first reply that counts (or solving the ticket);
- next_response: from the oldest customer message after the first response that no reply
  has answered yet, to the reply (or solving) that answers it;
- periodic_update: from the last reply that counts to the next one (or solving);
- resolution: from creation to resolved or closed, across reopens (elapsed time carries).
A clock runs only while the ticket is new or open: pending pauses it; solving stops it.
The terms are looked up for each stretch of the ticket's life, so a queue or priority change
applies the new target from that moment on, with the business time already elapsed carried
over; a metric the current terms do not set is not shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.record import TicketEvent
from router.sla.business import ZERO, add_business, business_time
from router.sla.policy import Lookup, Terms
from router.sla.timeline import SOLVED, Stretch, Timeline, read_timeline
from router.spec import Metric


class ClockState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    WARNING = "warning"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class Clock:
    """One metric of one ticket at `now`."""

    metric: Metric
    state: ClockState
    due_at: datetime | None  # when it breached, or is (was) due; None while paused
    business_seconds: float  # elapsed in the current instance
    target: timedelta
    started_at: datetime
    warn_at: datetime | None = None  # when it warned or will warn, if known
    running: bool = False  # its business time still grows: it waits, and the ticket is worked


@dataclass(frozen=True, slots=True)
class _Instance:
    start: datetime
    end: datetime | None  # None: still waiting


@dataclass
class _Run:
    """What walking an instance through the stretches found."""

    elapsed: timedelta = ZERO
    warned_at: datetime | None = None
    breached_at: datetime | None = None


def clocks(events: Sequence[TicketEvent], lookup: Lookup, now: datetime) -> dict[Metric, Clock]:
    """Every metric with a target in the ticket's current terms, at `now`."""
    timeline = read_timeline(events, now)
    if timeline is None:
        return {}
    out: dict[Metric, Clock] = {}
    for metric in Metric:
        instance = _instance(timeline, metric)
        if instance is not None:
            clock = _clock(timeline, metric, instance, lookup, now)
            if clock is not None:
                out[metric] = clock
    return out


def _instance(timeline: Timeline, metric: Metric) -> _Instance | None:
    first_end = _first_after(timeline.created_at, (*timeline.replies, *timeline.solves))
    if metric is Metric.FIRST_RESPONSE:
        return _Instance(timeline.created_at, first_end)
    if metric is Metric.RESOLUTION:
        solved = timeline.last.status in SOLVED and timeline.solves
        return _Instance(timeline.created_at, timeline.solves[-1] if solved else None)
    if first_end is None:
        return None
    if metric is Metric.PERIODIC_UPDATE:
        after = [r for r in timeline.replies if r >= first_end]
        if not after:
            return None
        return _Instance(after[-1], _first_after(after[-1], timeline.solves, inclusive=False))
    return _next_response(timeline, first_end)


def _next_response(timeline: Timeline, first_end: datetime) -> _Instance | None:
    """The instance of the oldest unanswered message, else the last one answered."""
    answers = (*timeline.replies, *timeline.solves)
    last: _Instance | None = None
    answered_until = first_end
    for message in timeline.messages:
        if message <= answered_until:
            continue  # answered already, or waiting in an instance that began earlier
        answer = _first_after(message, answers)
        last = _Instance(message, answer)
        if answer is None:
            return last
        answered_until = answer
    return last


def _first_after(
    start: datetime, times: Sequence[datetime], *, inclusive: bool = True
) -> datetime | None:
    """The earliest of `times` after `start` (or at it, when inclusive)."""
    found = [t for t in times if t > start or (inclusive and t == start)]
    return min(found) if found else None


def _clock(
    timeline: Timeline, metric: Metric, instance: _Instance, lookup: Lookup, now: datetime
) -> Clock | None:
    ended = instance.end is not None and instance.end <= now
    stop = instance.end if ended and instance.end is not None else now
    where = _stretch_at(timeline, stop) if ended else timeline.last
    terms = _terms(timeline, where, lookup)
    target = terms.sla.target(metric)
    if target is None:
        return None
    run = _walk(timeline, metric, instance, stop, lookup, open_at_stop=not ended)
    state = _state(run, ended, where.running)
    due_at, warn_at = run.breached_at, run.warned_at
    if state in (ClockState.ACTIVE, ClockState.WARNING, ClockState.MET):
        due_at = add_business(terms.calendar, stop, target - run.elapsed)
        if warn_at is None and state is ClockState.ACTIVE:
            warn_at = add_business(terms.calendar, stop, target * terms.warn_at - run.elapsed)
    running = not ended and where.running
    return Clock(
        metric, state, due_at, run.elapsed.total_seconds(), target, instance.start, warn_at,
        running,
    )  # fmt: skip


def _state(run: _Run, ended: bool, running: bool) -> ClockState:
    if run.breached_at is not None:
        return ClockState.BREACHED
    if ended:
        return ClockState.MET
    if not running:
        return ClockState.PAUSED
    return ClockState.WARNING if run.warned_at is not None else ClockState.ACTIVE


def _walk(
    timeline: Timeline,
    metric: Metric,
    instance: _Instance,
    stop: datetime,
    lookup: Lookup,
    *,
    open_at_stop: bool,
) -> _Run:
    """Elapsed business time up to `stop`, and when the warning and the breach came."""
    run = _Run()
    for stretch in _running(timeline.stretches, instance.start, stop):
        terms = _terms(timeline, stretch, lookup)
        begin, end = max(stretch.start, instance.start), min(stretch.end, stop)
        target = terms.sla.target(metric)
        # A deadline on `stop` is reached when the clock still runs there (`now`), and not
        # when the instance ended there (a reply at the due time is in time).
        inclusive = open_at_stop and end == stop
        if target is not None:
            run.warned_at = _warning(run, terms, target, begin, end, inclusive=inclusive)
            run.breached_at = run.breached_at or _crossing(
                terms, begin, end, target - run.elapsed, inclusive=inclusive
            )
        run.elapsed += business_time(terms.calendar, begin, end)
    return run


def _warning(
    run: _Run, terms: Terms, target: timedelta, begin: datetime, end: datetime, *, inclusive: bool
) -> datetime | None:
    """When the clock warned under the target in force: a looser target (a priority lowered)
    takes back a warning the elapsed time no longer deserves, as a breach is never taken back."""
    left = target * terms.warn_at - run.elapsed
    if left > ZERO:
        return _crossing(terms, begin, end, left, inclusive=inclusive)
    return run.warned_at or begin


def _crossing(
    terms: Terms, begin: datetime, end: datetime, left: timedelta, *, inclusive: bool
) -> datetime | None:
    """When `left` more business time has passed from `begin`, if within [begin, end)
    (or [begin, end] when inclusive)."""
    if left <= ZERO:
        return begin
    at = add_business(terms.calendar, begin, left)
    if at is None or at > end or (at == end and not inclusive):
        return None
    return at


def _running(stretches: Sequence[Stretch], start: datetime, stop: datetime) -> Iterator[Stretch]:
    for stretch in stretches:
        if stretch.running and stretch.end > start and stretch.start < stop:
            yield stretch


def _stretch_at(timeline: Timeline, at: datetime) -> Stretch:
    """The stretch that holds `at` (an instant on a boundary belongs to the one before)."""
    for stretch in timeline.stretches:
        if stretch.start < at <= stretch.end:
            return stretch
    return timeline.stretches[0]


def _terms(timeline: Timeline, stretch: Stretch, lookup: Lookup) -> Terms:
    rule = timeline.rule if stretch.queue == timeline.routed_queue else None
    return lookup(stretch.queue, stretch.priority, rule)


def due_times(found: Mapping[Metric, Clock]) -> dict[Metric, datetime]:
    """The due time of each clock that has one."""
    return {m: c.due_at for m, c in found.items() if c.due_at is not None}
