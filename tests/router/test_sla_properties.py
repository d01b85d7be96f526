"""Properties of SLA clocks: due times are monotonic (in the start, the target and the
calendar's open hours) and pausing never brings a breach earlier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.record import Actor, Detail, EventKind, TicketEvent
from router.hours import Calendar
from router.sla import ClockState, add_business, clocks
from router.sla.marks import marks_at
from router.sla.timeline import MOVES_CLOCKS
from router.spec import Metric
from tests.router.sla_helpers import CALENDARS, LOOKUP, record

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=365 * 24 * 60).map(
    lambda minutes: YEAR + timedelta(minutes=minutes)
)
targets = st.integers(min_value=1, max_value=80 * 60).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from(sorted(CALENDARS)).map(lambda name: CALENDARS[name])
QUEUES = ["support", "berlin_q", "nights_q", "always_q", "plain", "tier2"]


@settings(max_examples=80, deadline=None)
@given(calendars, instants, instants, targets)
def test_a_later_start_is_never_due_earlier(
    calendar: Calendar, one: datetime, other: datetime, target: timedelta
) -> None:
    early, late = sorted((one, other))
    first, second = add_business(calendar, early, target), add_business(calendar, late, target)
    assert first is not None
    assert second is not None
    assert first <= second


@settings(max_examples=80, deadline=None)
@given(calendars, instants, targets, targets)
def test_a_longer_target_is_never_due_earlier(
    calendar: Calendar, start: datetime, one: timedelta, other: timedelta
) -> None:
    short, long = sorted((one, other))
    first, second = add_business(calendar, start, short), add_business(calendar, start, long)
    assert first is not None
    assert second is not None
    assert first <= second


@settings(max_examples=80, deadline=None)
@given(calendars, instants, targets, st.lists(instants, max_size=5))
def test_holidays_never_make_a_due_time_earlier(
    calendar: Calendar, start: datetime, target: timedelta, days: list[datetime]
) -> None:
    """Fewer open hours (the same calendar with more holidays) can only push due times out."""
    closed = {day.astimezone(calendar.zone).date() for day in days}
    fewer = Calendar(
        calendar.name, calendar.zone, calendar.starts, calendar.ends, calendar.holidays | closed
    )
    before, after = add_business(calendar, start, target), add_business(fewer, start, target)
    assert before is not None
    assert after is not None
    assert before <= after


def _script(queue: str, start: datetime, pause: tuple[int, int] | None) -> str:
    lines = [f"{_z(start)} created {queue}"]
    if pause is not None:
        begin, length = pause
        lines.append(f"{_z(start + timedelta(minutes=begin))} status pending")
        lines.append(f"{_z(start + timedelta(minutes=begin + length))} status open")
    return "\n".join(lines)


def _z(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%MZ")


def _breach(text: str, metric: Metric, now: datetime) -> datetime | None:
    clock = clocks(record(text), LOOKUP, now).get(metric)
    assert clock is not None
    return clock.due_at if clock.state is ClockState.BREACHED else None


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(QUEUES),
    instants,
    st.integers(min_value=1, max_value=3 * 24 * 60),
    st.integers(min_value=1, max_value=3 * 24 * 60),
    st.sampled_from([Metric.FIRST_RESPONSE, Metric.RESOLUTION]),
)
def test_pausing_never_brings_a_breach_earlier(
    queue: str, start: datetime, begin: int, length: int, metric: Metric
) -> None:
    now = start + timedelta(days=30)
    plain = _breach(_script(queue, start, None), metric, now)
    paused = _breach(_script(queue, start, (begin, length)), metric, now)
    assert plain is not None  # thirty days is past every target here
    assert paused is None or plain <= paused


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(QUEUES), instants, st.integers(min_value=0, max_value=10 * 24 * 60))
def test_elapsed_business_time_never_runs_ahead_of_the_wall_clock(
    queue: str, start: datetime, minutes: int
) -> None:
    now = start + timedelta(minutes=minutes)
    for clock in clocks(record(_script(queue, start, None)), LOOKUP, now).values():
        assert 0 <= clock.business_seconds <= minutes * 60
        if clock.state in (ClockState.ACTIVE, ClockState.WARNING):
            assert clock.due_at is not None
            assert clock.due_at > now


NOISE: list[tuple[EventKind, dict[str, Detail]]] = [
    (EventKind.NOTE, {"message_id": 9999}),
    (EventKind.TAGS, {"added": ("x",), "removed": ()}),
    (EventKind.OFFERED, {"offer_id": 1, "agent": "ann"}),
    (EventKind.ASSIGNED, {"from": None, "to": "ann"}),
    (EventKind.UNASSIGNED, {"from": "ann", "to": None}),
    (EventKind.ACKNOWLEDGED, {"message_id": 9998}),
]
STEPS = ["in", "reply", "reply failed", "status pending", "status open", "status resolved",
         "priority high", "priority low", "queue tier2"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(QUEUES),
    instants,
    st.lists(st.tuples(st.sampled_from(STEPS), st.integers(1, 600)), max_size=6),
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from(range(len(NOISE)))), max_size=6),
)
def test_events_that_move_no_clock_leave_the_marks_as_they_were(
    queue: str,
    start: datetime,
    steps: list[tuple[str, int]],
    noise: list[tuple[int, int]],
) -> None:
    """What the SLA watcher relies on to skip a ticket whose new events are not in
    MOVES_CLOCKS: notes, tags, offers, assignments and acknowledgements change no mark."""
    lines, at = [f"{_z(start)} created {queue}"], start
    for step, minutes in steps:
        at += timedelta(minutes=minutes)
        lines.append(f"{_z(at)} {step}")
    plain = record("\n".join(lines))
    noisy = list(plain)
    for position, which in noise:
        where = min(position, len(noisy))
        kind, detail = NOISE[which]
        when = noisy[where - 1].at if where else start
        noisy.insert(where, TicketEvent(0, 1, kind, Actor.agent("sue"), when, detail))
    assert all(event.kind in MOVES_CLOCKS for event in plain)
    now = at + timedelta(days=3)
    assert marks_at(1, noisy, LOOKUP, now) == marks_at(1, plain, LOOKUP, now)
