"""The reports' pure figures (router/report_facts.py, router/reports.py): properties over
random histories of tickets, and the rules of the fold case by case."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from core.record import Actor, Detail, EventKind, TicketEvent
from router.report_facts import Ledger, Window
from router.reports import (
    Grouping,
    Key,
    Metric,
    Report,
    Scope,
    behind,
    bucket_of,
    nearest_rank,
    spread,
    summarize,
    volume,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=30))
AGENTS = ("ann", "bob", "cy")
Step = tuple[str, str, float]  # (action, agent, minutes after the previous step)


def event(
    ticket: int, kind: EventKind, actor: Actor, at: datetime, **detail: Detail
) -> TicketEvent:
    return TicketEvent(0, ticket, kind, actor, at, detail)


def history(
    ticket: int, created: datetime, customer: int, steps: Sequence[Step]
) -> list[TicketEvent]:
    """A ticket's events from a list of steps: assign, reply, fail (the last reply), resolve,
    back (the customer writes again)."""
    me = Actor.customer(customer)
    at = created
    events = [event(ticket, EventKind.CREATED, Actor.by_rule(None), at, queue=f"q{ticket % 2}"),
              event(ticket, EventKind.MESSAGE_IN, me, at, message_id=ticket * 100,
                    channel=("email", "sms", "chat")[ticket % 3])]  # fmt: skip
    message = ticket * 100
    for action, agent, minutes in steps:
        at += timedelta(minutes=minutes)
        who = Actor.agent(agent)
        if action == "assign":
            events.append(event(ticket, EventKind.ASSIGNED, who, at, to=agent))
        elif action == "reply":
            message += 1
            events.append(event(ticket, EventKind.REPLY_OUT, who, at, message_id=message))
        elif action == "fail":
            events.append(event(ticket, EventKind.DELIVERY, Actor.parse("system"), at,
                                message_id=message, status="failed"))  # fmt: skip
        elif action == "resolve":
            events.append(event(ticket, EventKind.STATUS, who, at, to="resolved"))
        else:
            events.append(event(ticket, EventKind.MESSAGE_IN, me, at, message_id=-1, channel="sms"))
            events.append(event(ticket, EventKind.STATUS, me, at, to="open"))
    return events


steps = st.lists(
    st.tuples(
        st.sampled_from(["assign", "reply", "fail", "resolve", "back"]),
        st.sampled_from(AGENTS),
        st.floats(0, 3000, allow_nan=False),
    ),
    max_size=8,
)
tickets = st.lists(
    st.tuples(st.floats(-3 * 1440, 32 * 1440), st.integers(1, 4), steps), min_size=0, max_size=12
)


def histories(drawn: Sequence[tuple[float, int, Sequence[Step]]]) -> list[list[TicketEvent]]:
    return [
        history(n + 1, START + timedelta(minutes=offset), customer, plan)
        for n, (offset, customer, plan) in enumerate(drawn)
    ]


def numbered(events: Sequence[TicketEvent]) -> list[TicketEvent]:
    return [
        TicketEvent(n, e.ticket_id, e.kind, e.actor, e.at, e.detail)
        for n, e in enumerate(events, 1)
    ]


def in_time_order(lists: Sequence[Sequence[TicketEvent]]) -> list[TicketEvent]:
    """The tickets' events merged as a hub commits them: by time, each ticket's in its order."""
    keyed = [(e.at, n, i, e) for n, events in enumerate(lists) for i, e in enumerate(events)]
    return numbered([e for *_, e in sorted(keyed, key=lambda k: k[:3])])


def report_of(events: Sequence[TicketEvent], window: Window = WINDOW) -> Report:
    ledger = Ledger(window)
    ledger.add_all(events)
    return Report(ledger.facts(), ledger.contacts, window)


@given(tickets, st.randoms())
def test_figures_do_not_depend_on_how_tickets_interleave(drawn, random) -> None:  # type: ignore[no-untyped-def]  # hypothesis gives the types
    lists = histories(drawn)
    shuffled: list[TicketEvent] = []
    queues = [list(events) for events in lists]
    while any(queues):
        queue = random.choice([q for q in queues if q])
        shuffled.append(queue.pop(0))
    assert summarize(report_of(numbered(shuffled))) == summarize(report_of(in_time_order(lists)))


@given(tickets)
def test_counts_add_up_and_shares_are_of_the_resolved(drawn) -> None:  # type: ignore[no-untyped-def]  # hypothesis gives the types
    report = report_of(in_time_order(histories(drawn)))
    summary = summarize(report)
    assert summary.created == summary.resolved + summary.backlog
    assert summary.created == sum(START <= f.created_at < WINDOW.end for f in report.facts)
    assert summary.one_touch.of == summary.repeat_contact.of == summary.resolved
    assert summary.one_touch.count <= summary.resolved
    assert summary.repeat_contact.count <= summary.resolved
    assert summary.first_response.count <= summary.created
    for agent in summary.agents:
        assert agent.handled == len(behind(report, Metric.HANDLED, agent.agent)) >= 1
        assert agent.handle_time.count == agent.handled
    assert sum(a.first_response.count for a in summary.agents) == summary.first_response.count


@given(tickets, st.sampled_from(list(Grouping)), st.sampled_from(["UTC", "America/New_York"]))
def test_volume_rows_add_up_to_the_summary(drawn, group_by, zone) -> None:  # type: ignore[no-untyped-def]  # hypothesis gives the types
    report = report_of(in_time_order(histories(drawn)))
    summary = summarize(report)
    for by in (Key.CHANNEL, Key.QUEUE):
        rows = volume(report, group_by, by, ZoneInfo(zone))
        assert sum(r.count for r in rows) == summary.created
    rows = volume(report, group_by, Key.AGENT, ZoneInfo(zone))
    for agent in summary.agents:
        assert sum(r.count for r in rows if r.key == agent.agent) == agent.handled


@given(tickets, st.sampled_from(["q0", "q1"]))
def test_a_scope_counts_its_own_tickets_only(drawn, queue) -> None:  # type: ignore[no-untyped-def]  # hypothesis gives the types
    report = report_of(in_time_order(histories(drawn)))
    scoped = report.scoped(Scope(queue=queue))
    other = report.scoped(Scope(queue="q1" if queue == "q0" else "q0"))
    assert summarize(scoped).created + summarize(other).created == summarize(report).created
    assert {t for t, _ in behind(scoped, Metric.CREATED)} == {
        f.ticket_id for f in report.facts if f.queue == queue
    }


@given(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=60))
def test_percentiles_are_values_that_split_the_list_as_named(values: list[float]) -> None:
    figures = spread(values)
    ordered = sorted(values)
    assert figures.count == len(values)
    assert figures.p50 is not None
    assert figures.p90 is not None
    assert figures.mean is not None
    assert ordered[0] <= figures.p50 <= figures.p90 <= ordered[-1]
    assert figures.p50 in values
    for percent in (50, 90):
        value = nearest_rank(ordered, percent)
        assert sum(v <= value for v in values) >= percent / 100 * len(values)
        assert sum(v < value for v in values) < percent / 100 * len(values)
    assert ordered[0] - 1e-3 <= figures.mean <= ordered[-1] + 1e-3


def test_one_old_ticket_moves_the_mean_not_the_median() -> None:
    figures = spread([60.0] * 9 + [86400.0 * 30])
    assert (figures.p50, figures.p90) == (60.0, 60.0)
    assert math.isclose(figures.mean or 0, (9 * 60 + 86400 * 30) / 10)


def test_no_values_have_no_figures() -> None:
    assert spread([]) == spread([None])
    assert spread([]).p50 is None


def facts_of(steps: Sequence[Step], customer: int = 1) -> Mapping[str, object]:
    report = report_of(in_time_order([history(1, START, customer, steps)]))
    (facts,) = report.facts
    return {
        "first": None if facts.first_response_at is None
        else (facts.first_response_at - START).total_seconds() / 60,
        "replies": facts.replies,
        "resolved": None if facts.resolved_at is None
        else (facts.resolved_at - START).total_seconds() / 60,
        "held": {k: v / 60 for k, v in facts.held.items()},
    }  # fmt: skip


def test_a_failed_reply_is_no_response_and_the_next_one_is() -> None:
    got = facts_of([("assign", "ann", 1), ("reply", "ann", 4), ("fail", "", 1),
                    ("reply", "ann", 10), ("resolve", "ann", 5)])  # fmt: skip
    assert got == {"first": 16.0, "replies": 1, "resolved": 21.0, "held": {"ann": 20.0}}


def test_a_reopened_ticket_keeps_its_first_response_and_counts_its_last_resolution() -> None:
    got = facts_of([("assign", "ann", 0), ("reply", "ann", 5), ("resolve", "ann", 5),
                    ("back", "", 60), ("reply", "bob", 5), ("resolve", "ann", 5)])  # fmt: skip
    assert got == {"first": 5.0, "replies": 2, "resolved": 80.0, "held": {"ann": 20.0}}


def test_a_handover_splits_the_handle_time() -> None:
    got = facts_of([("assign", "ann", 0), ("assign", "bob", 30), ("resolve", "bob", 15)])
    assert got["held"] == {"ann": 30.0, "bob": 15.0}


def test_the_customer_back_within_72_hours_on_another_ticket_is_a_repeat_contact() -> None:
    first = history(1, START, 7, [("reply", "ann", 5), ("resolve", "ann", 5)])
    soon = history(2, START + timedelta(hours=71), 7, [])
    late = history(3, START + timedelta(hours=90), 8, [])
    stranger = history(4, START, 8, [("reply", "ann", 5), ("resolve", "ann", 5)])
    report = report_of(in_time_order([first, soon, late, stranger]))
    assert behind(report, Metric.REPEAT_CONTACT) == [(1, 600.0)]
    assert summarize(report).repeat_contact.percent == 50.0


def test_tickets_created_outside_the_window_are_not_counted() -> None:
    before = history(1, START - timedelta(hours=1), 1, [("resolve", "ann", 120)])
    after = history(2, WINDOW.end, 2, [])
    inside = history(3, START, 3, [])
    report = report_of(in_time_order([before, after, inside]))
    assert [f.ticket_id for f in report.facts] == [3]


def test_weeks_start_on_monday_at_local_midnight_across_dst() -> None:
    zone = ZoneInfo("America/New_York")
    sunday_after_dst = datetime(2026, 3, 8, 12, tzinfo=UTC)  # DST began at 07:00 UTC
    assert bucket_of(sunday_after_dst, Grouping.WEEK, zone) == datetime(2026, 3, 2, tzinfo=zone)
    day = bucket_of(sunday_after_dst, Grouping.DAY, zone)
    assert day.utcoffset() == timedelta(hours=-5)  # midnight came before the change
    monday = bucket_of(sunday_after_dst + timedelta(days=1), Grouping.DAY, zone)
    assert monday.astimezone(UTC) - day.astimezone(UTC) == timedelta(hours=23)
    hour = bucket_of(sunday_after_dst, Grouping.HOUR, zone)
    assert (hour.hour, hour.utcoffset()) == (8, timedelta(hours=-4))
