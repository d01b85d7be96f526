"""The volume series' figures per bucket (router/series.py): its counts are the volume's, the
SLA counts only tickets with a target or a breach, and a breach counts only inside the
window and only for the window's tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.record import Actor, Detail, EventKind, TicketEvent
from router.report_facts import Ledger, Window
from router.reports import Grouping, Key, Report, volume
from router.series import SlaLedger, series

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


def fold(events: list[TicketEvent]) -> tuple[Report, SlaLedger]:
    ledger, sla = Ledger(WINDOW), SlaLedger(WINDOW)
    for e in sorted(events, key=lambda e: e.at):
        ledger.add(e)
        sla.add(e)
    return Report(ledger.facts(), ledger.contacts, WINDOW), sla


def billing_only(queue: str, priority: str, rule: str | None) -> bool:
    return queue == "billing"


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
    report, sla = fold(events)
    (total,) = series(report, sla, billing_only, Grouping.DAY, None, UTC)
    assert (total.count, total.sla.of, total.sla.count, total.breached) == (5, 4, 2, 2)
    assert total.sla.percent == 50.0
    assert (total.first_response.count, total.first_response.p50) == (1, 5400.0)
    by_queue = {
        row.key: row for row in series(report, sla, billing_only, Grouping.DAY, Key.QUEUE, UTC)
    }
    assert (by_queue["billing"].sla.of, by_queue["billing"].breached) == (3, 1)
    assert (by_queue["general"].sla.of, by_queue["general"].sla.percent) == (1, 0.0)
    assert sla.breached == {2, 4}


@given(st.lists(st.tuples(st.integers(0, 6 * 24), st.sampled_from(["a", "b"]), st.booleans()),
                max_size=30))  # fmt: skip
def test_the_series_counts_are_the_volumes(tickets: list[tuple[int, str, bool]]) -> None:
    events = []
    for n, (hours, queue, breached) in enumerate(tickets, start=1):
        at = START + timedelta(hours=hours)
        events += created(n, at, queue)
        if breached:
            events.append(event(n, EventKind.SLA_BREACH, at + timedelta(minutes=1)))
    report, sla = fold(events)
    for by in (Key.CHANNEL, Key.QUEUE):
        rows = series(report, sla, lambda *_: True, Grouping.DAY, by, UTC)
        assert [(r.bucket, r.key, r.count) for r in rows] == [
            (v.bucket, v.key, v.count) for v in volume(report, Grouping.DAY, by, UTC)
        ]
        assert sum(r.breached for r in rows) == sum(1 for *_, b in tickets if b)
        assert all(r.sla.of == r.count and r.sla.count + r.breached == r.count for r in rows)
