"""A ticket's SLA marks, decided purely: the standing from its clocks, the events a change or
a reply will record foreseen (so the marks match what the record will say), a new ticket's
from its decision, and marks carried to a later moment equal to the clocks its record gives
then (business hours, nights, weekends, holidays)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.deadlines import AT_RISK, BREACH, BREACHED, WARNING
from core.model import Cause, Decision, Identity, Inbound, Priority, Status, TicketChange
from core.record import Actor, EventKind
from router.sla import clocks
from router.sla.marks import (
    after_change,
    after_reply,
    at_creation,
    carried,
    foresee,
    mark,
    marks_at,
)
from tests.router.sla_helpers import DOC, LOOKUP, moment, record

SUE = Actor.agent("sue")


@pytest.mark.parametrize(
    ("script", "now", "standing"),
    [
        ("2026-11-23 09:00 created", "2026-11-23 10:00", ""),
        ("2026-11-23 09:00 created", "2026-11-23 12:30", AT_RISK),
        ("2026-11-23 09:00 created", "2026-11-23 13:30", BREACHED),
        ("2026-11-23 09:00 created\n2026-11-23 10:00 status pending", "2026-11-24 13:30", ""),
        ("2026-11-23 09:00 created\n2026-11-23 14:00 reply", "2026-11-23 15:00", ""),
        ("2026-11-23 09:00 created\n2026-11-23 10:00 reply", "2026-11-24 09:30", AT_RISK),
        ("2026-11-23 09:00 created\n2026-11-23 10:00 reply\n2026-11-24 09:00 status resolved",
         "2026-11-26 14:00", ""),
        ("2026-11-23 09:00 created\n2026-11-23 13:30 reply failed", "2026-11-23 14:00", BREACHED),
    ],
    ids=[
        "running", "past-its-warning", "breached", "paused-while-pending", "met-late",
        "the-update-warns", "solved", "a-failed-reply-answers-nothing",
    ],
)  # fmt: skip
def test_the_standing_is_that_of_the_running_clocks(script: str, now: str, standing: str) -> None:
    assert marks_at(1, record(script), LOOKUP, moment(now)).standing == standing


def test_marks_carry_the_deadlines_and_the_basis() -> None:
    events = record("2026-11-23 09:00 created")
    marks = marks_at(1, events, LOOKUP, moment("2026-11-23 10:00"), basis=events[-1].seq)
    assert marks.basis == 2
    assert {(d.metric, d.kind) for d in marks.deadlines} == {
        ("first_response", WARNING), ("first_response", BREACH),
        ("resolution", WARNING), ("resolution", BREACH),
    }  # fmt: skip
    assert [c.metric for c in marks.clocks] == ["first_response", "resolution"]


@pytest.mark.parametrize(
    ("change", "then"),
    [
        (TicketChange(status=Status.PENDING, actor=SUE), "2026-11-23 10:00 status pending"),
        (TicketChange(priority=Priority.URGENT, actor=SUE), "2026-11-23 10:00 priority urgent"),
        (TicketChange(queue="tier2", actor=SUE), "2026-11-23 10:00 queue tier2"),
        (TicketChange(status=Status.RESOLVED, actor=SUE), "2026-11-23 10:00 status resolved"),
    ],
    ids=["pause", "priority", "queue", "solve"],
)
def test_a_change_leaves_the_marks_its_record_will_give(change: TicketChange, then: str) -> None:
    before = record("2026-11-23 09:00 created")
    after = record(f"2026-11-23 09:00 created\n{then}")
    now = moment("2026-11-23 10:00")
    foreseen = after_change(1, before, change, LOOKUP, now)
    assert foreseen.basis == before[-1].seq
    assert (foreseen.standing, foreseen.clocks) == (
        marks_at(1, after, LOOKUP, now).standing,
        marks_at(1, after, LOOKUP, now).clocks,
    )
    assert set(foreseen.deadlines) == set(marks_at(1, after, LOOKUP, now).deadlines)


def test_a_change_moving_nothing_foresees_nothing_but_its_cause() -> None:
    events = record("2026-11-23 09:00 created")
    now = moment("2026-11-23 13:00")
    same = TicketChange(status=Status.NEW, queue="support", actor=SUE)
    assert foresee(events, same, now) == []
    cause = Cause(EventKind.SLA_BREACH, {"metric": "first_response", "key": "k"})
    foreseen = foresee(events, TicketChange(actor=SUE, cause=cause), now)
    assert [(e.kind, e.seq) for e in foreseen] == [(EventKind.SLA_BREACH, 3)]


def test_a_firing_takes_its_deadline_out_of_the_marks() -> None:
    events = record("2026-11-23 09:00 created")
    now = moment("2026-11-23 13:00")
    key = moment("2026-11-23 09:00").isoformat()
    cause = Cause(EventKind.SLA_BREACH, {"metric": "first_response", "key": key})
    marks = after_change(1, events, TicketChange(actor=SUE, cause=cause), LOOKUP, now)
    assert marks.standing == BREACHED
    assert ("first_response", BREACH) not in {(d.metric, d.kind) for d in marks.deadlines}


def test_a_reply_meets_the_first_response_and_opens_the_ticket() -> None:
    events = record("2026-11-23 09:00 created")
    now = moment("2026-11-23 12:30")
    marks = after_reply(1, events, SUE, LOOKUP, now)
    states = {c.metric: c.state for c in marks.clocks}
    assert states["first_response"] == "met"
    assert marks.standing == ""
    later = [
        e
        for e in record("2026-11-23 09:00 created\n2026-11-23 12:30 reply")
        if e.kind is not EventKind.DELIVERY  # its delivery comes a minute later
    ]
    assert marks.clocks == marks_at(1, later, LOOKUP, now).clocks


def test_a_new_ticket_has_the_marks_of_its_first_events() -> None:
    at = moment("2026-11-23 02:47")
    contact = Inbound("email", "m1", Identity("email", "ada@example.com"), "hi", at)
    marks = at_creation(contact, Decision("support"), LOOKUP)
    created = marks_at(1, record("2026-11-23 02:47 created"), LOOKUP, at)
    assert marks.clocks == created.clocks
    assert {(d.kind, d.due) for d in marks.deadlines} == {
        (d.kind, d.due) for d in created.deadlines
    }
    assert {d.ticket_id for d in marks.deadlines} == {0}  # the store names the ticket


SCRIPTS = {
    "office": "2026-11-23 16:00 created",  # NY office hours; evenings, nights, a weekend
    "holiday": "2026-11-25 15:00 created",  # Thanksgiving (26th) is no business day
    "nights": "2026-11-23 21:00 created nights_q",  # a calendar past midnight
    "berlin": "2026-11-23 17:00 created berlin_q",  # across Berlin's evening
    "plain": "2026-11-23 09:00 created plain",  # no calendar: always open
    "reply": "2026-11-23 09:00 created\n2026-11-23 10:00 reply\n2026-11-23 11:00 in",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@pytest.mark.parametrize("hours", [0.5, 3, 7, 20, 49, 80])
def test_marks_carried_later_are_the_clocks_of_the_record_then(name: str, hours: float) -> None:
    events = record(SCRIPTS[name])
    at = events[-1].at + timedelta(minutes=5)
    marks = marks_at(1, events, LOOKUP, at)
    now = at + timedelta(hours=hours)
    queue = str(events[0].detail["queue"])
    calendar = DOC.calendars.get(DOC.queues[queue].calendar or "")
    found = {c.metric: c for c in carried(marks, calendar, now)}
    expected = {m.value: mark(c) for m, c in clocks(events, LOOKUP, now).items()}
    assert found.keys() == expected.keys()
    for metric, clock in expected.items():
        got = found[metric]
        assert (got.state, got.due_at, got.running) == (clock.state, clock.due_at, clock.running)
        assert got.business_seconds == pytest.approx(clock.business_seconds, abs=1e-3)


def test_marks_computed_before_the_newest_event_are_taken_at_it() -> None:
    """A hub whose clock runs behind the one that wrote the record still finds its clocks."""
    events = record("2026-11-23 09:00 created")
    behind = marks_at(1, events, LOOKUP, moment("2026-11-23 08:59"))
    assert behind.at == moment("2026-11-23 09:00")
    assert [c.metric for c in behind.clocks] == ["first_response", "resolution"]
    assert len(behind.deadlines) == 4
