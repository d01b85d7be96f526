"""The volume series' figures per bucket (router/series.py): its counts are the volume's, the
SLA counts only tickets with a target or a breach, and a breach counts only inside the
window and only for the window's tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.record import Actor, Detail, EventKind, TicketEvent
from core.tally import SLA_CLOCKS
from router.report_facts import Ledger, Window
from router.reports import (
    CLOCKS,
    Grouping,
    Key,
    Metric,
    Report,
    Targets,
    behind,
    summarize,
    volume,
)
from router.series import series

START = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=7))
CLOCK = Actor.parse("clock")
ANN = Actor.agent("ann")


def event(
    ticket: int, kind: EventKind, at: datetime, actor: Actor = CLOCK, **detail: Detail
) -> TicketEvent:
    return TicketEvent(0, ticket, kind, actor, at, detail)


def created(ticket: int, at: datetime, queue: str, priority: str = "normal") -> list[TicketEvent]:
    customer = Actor.customer(ticket)
    return [
        event(ticket, EventKind.CREATED, at, Actor.by_rule(None), queue=queue, priority=priority,
              rule=None),
        event(ticket, EventKind.MESSAGE_IN, at, customer, message_id=ticket, channel="email"),
    ]  # fmt: skip


def fold(events: list[TicketEvent], targets: Targets) -> Report:
    ledger = Ledger(WINDOW)
    for e in sorted(events, key=lambda e: e.at):
        ledger.add(e)
    return Report(ledger.facts(), ledger.contacts, WINDOW, targets=targets)


def billing_only(queue: str, priority: str, rule: str | None) -> frozenset[str]:
    """Billing has first response and resolution targets; other queues none."""
    return frozenset({"first_response", "resolution"} if queue == "billing" else ())


def test_the_sla_counts_targeted_or_breached_tickets_and_breaches_in_the_window() -> None:
    day = START + timedelta(hours=9)
    events = [
        *created(1, day, "billing"),  # targeted, met
        *created(2, day, "billing"),  # targeted, breached
        event(2, EventKind.SLA_BREACH, day + timedelta(hours=1), metric="first_response"),
        *created(3, day, "general"),  # no target, no breach: not measured
        *created(4, day, "general"),  # no target, but a breach on its record: measured
        event(4, EventKind.SLA_BREACH, day + timedelta(hours=2), metric="resolution"),
        *created(5, day, "billing"),  # its breach comes after the window's end
        event(5, EventKind.SLA_BREACH, WINDOW.end + timedelta(hours=1), metric="resolution"),
        event(9, EventKind.SLA_BREACH, day, metric="resolution"),  # a ticket from before
        event(2, EventKind.REPLY_OUT, day + timedelta(minutes=90), ANN, message_id=20),
    ]
    report = fold(events, billing_only)
    (total,) = series(report, Grouping.DAY, None, UTC)
    assert (total.count, total.sla.of, total.sla.count, total.breached) == (5, 4, 2, 2)
    assert total.sla.percent == 50.0
    assert (total.first_response.count, total.first_response.p50) == (1, 5400.0)
    by_queue = {row.key: row for row in series(report, Grouping.DAY, Key.QUEUE, UTC)}
    assert (by_queue["billing"].sla.of, by_queue["billing"].breached) == (3, 1)
    assert (by_queue["general"].sla.of, by_queue["general"].sla.percent) == (1, 0.0)
    assert [t for t, _ in behind(report, Metric.SLA_BREACHED)] == [2, 4]
    assert summarize(report).sla == total.sla


def test_each_clock_counts_its_targets_and_its_own_breaches() -> None:
    """Per clock, a ticket counts when its route has a target for that clock or it breached
    that clock; it met it when no breach of that clock is on its record."""
    day = START + timedelta(hours=9)
    events = [
        *created(1, day, "billing"),  # both targets, met both
        *created(2, day, "billing"),  # first response missed, resolution met
        event(2, EventKind.SLA_BREACH, day + timedelta(hours=1), metric="first_response"),
        *created(3, day, "general"),  # no target; its next response missed
        event(3, EventKind.SLA_BREACH, day + timedelta(hours=2), metric="next_response"),
        *created(4, day, "general"),  # no target, no breach: counted nowhere
    ]
    summary = summarize(fold(events, billing_only))
    clocks = {clock: (s.of, s.count, s.percent) for clock, s in summary.sla_clocks}
    assert clocks == {
        "first_response": (2, 1, 50.0),
        "resolution": (2, 2, 100.0),
        "next_response": (1, 0, 0.0),
        "periodic_update": (0, 0, None),
    }
    assert (summary.sla.of, summary.sla.count) == (3, 1)  # 1 met; 2 and 3 breached one
    report = fold(events, billing_only)
    for clock, share in summary.sla_clocks:
        met = behind(report, Metric.SLA_MET, clock=clock)
        missed = behind(report, Metric.SLA_BREACHED, clock=clock)
        assert (len(met), len(met) + len(missed)) == (share.count, share.of), clock


@given(st.lists(st.tuples(st.integers(0, 6 * 24), st.sampled_from(["a", "b"]), st.booleans()),
                max_size=30))  # fmt: skip
def test_the_series_counts_are_the_volumes(tickets: list[tuple[int, str, bool]]) -> None:
    events = []
    for n, (hours, queue, breached) in enumerate(tickets, start=1):
        at = START + timedelta(hours=hours)
        events += created(n, at, queue)
        if breached:
            events.append(event(n, EventKind.SLA_BREACH, at + timedelta(minutes=1)))
    report = fold(events, lambda *_: frozenset({"resolution"}))
    for by in (Key.CHANNEL, Key.QUEUE):
        rows = series(report, Grouping.DAY, by, UTC)
        assert [(r.bucket, r.key, r.count) for r in rows] == [
            (v.bucket, v.key, v.count) for v in volume(report, Grouping.DAY, by, UTC)
        ]
        assert sum(r.breached for r in rows) == sum(1 for *_, b in tickets if b)
        assert all(r.sla.of == r.count and r.sla.count + r.breached == r.count for r in rows)


def test_the_cells_name_every_clock_a_summary_reports() -> None:
    """core/tally.py names the clocks by letters of its own (core cannot read router/spec.py):
    the same clocks as the summary's, each its own letter."""
    assert set(SLA_CLOCKS) == set(CLOCKS)
    assert len(set(SLA_CLOCKS.values())) == len(CLOCKS)
