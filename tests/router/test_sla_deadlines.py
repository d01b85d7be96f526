"""What the SLA watcher schedules and does, decided purely: deadlines from a ticket's
clocks, whether a claimed one is due, and the change a warning or breach makes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from core.deadlines import BREACH, WARNING, Deadline
from core.model import UNASSIGN, Priority, Route, Status, Ticket
from core.record import EventKind, TicketEvent
from router.engine import load_ruleset
from router.sla import clocks, terms_for
from router.sla.deadlines import SLA_ACTOR, deadlines_for, due_now, firing
from router.spec import Metric
from tests.router.sla_helpers import DOC, LOOKUP, moment, record

SCRIPT = "2026-11-23 09:00 created"  # support: first response 4h (warns at 3h), resolution 16h


def scheduled(now: str, extra: list[TicketEvent] | None = None) -> dict[tuple[str, str], str]:
    events = [*record(SCRIPT), *(extra or [])]
    found = clocks(events, LOOKUP, moment(now))
    return {
        (d.metric, d.kind): d.due.astimezone(moment(now).tzinfo).isoformat()
        for d in deadlines_for(1, found, events)
    }


def test_a_running_clock_has_a_warning_and_a_breach_ahead() -> None:
    assert scheduled("2026-11-23 10:00") == {
        ("first_response", WARNING): moment("2026-11-23 12:00").isoformat(),
        ("first_response", BREACH): moment("2026-11-23 13:00").isoformat(),
        ("resolution", WARNING): moment("2026-11-24 13:00").isoformat(),
        ("resolution", BREACH): moment("2026-11-24 17:00").isoformat(),
    }


def breach_event(metric: str, key: str) -> TicketEvent:
    detail = {"metric": metric, "key": key}
    return TicketEvent(99, 1, EventKind.SLA_BREACH, SLA_ACTOR, moment("2026-11-23 13:00"), detail)


def test_a_passed_deadline_not_on_the_record_is_due_at_once_and_a_recorded_one_is_gone() -> None:
    key = moment("2026-11-23 09:00").isoformat()
    late = scheduled("2026-11-23 14:00")
    assert late[("first_response", BREACH)] == moment("2026-11-23 13:00").isoformat()
    assert ("first_response", WARNING) not in late  # warned too late: the breach says it
    done = scheduled("2026-11-23 14:00", [breach_event("first_response", key)])
    assert ("first_response", BREACH) not in done


def test_a_claimed_deadline_is_due_only_for_its_instance_and_state() -> None:
    events = record(SCRIPT)
    key = moment("2026-11-23 09:00").isoformat()
    due = moment("2026-11-23 13:00")
    deadline = Deadline(1, "first_response", BREACH, key, due)
    at = clocks(events, LOOKUP, due).get(Metric.FIRST_RESPONSE)
    before = clocks(events, LOOKUP, moment("2026-11-23 12:59")).get(Metric.FIRST_RESPONSE)
    assert due_now(deadline, at, events)
    assert not due_now(deadline, before, events)  # not breached yet (the clock moved)
    assert not due_now(Deadline(1, "first_response", BREACH, "other", due), at, events)
    assert not due_now(deadline, at, [*events, breach_event("first_response", key)])
    assert not due_now(deadline, None, events)


def ticket(queue: str = "support", tags: tuple[str, ...] = ("vip",)) -> Ticket:
    at = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    return Ticket(
        1, Status.OPEN, "email", queue, Priority.NORMAL, 7, "", at, at, Route(None, ()),
        tags=tags, assignee="ann",
    )  # fmt: skip


ACTING = DOC.source.replace(
    "      urgent: {first_response: 1h, resolution: 8h}\n",
    "      urgent: {first_response: 1h, resolution: 8h}\n"
    "      on_breach: {escalate: true, priority: urgent, tags: [late]}\n",
)


def test_a_breach_escalates_raises_the_priority_and_tags_as_on_breach_says() -> None:
    doc = load_ruleset(ACTING, "r").doc
    terms = terms_for(doc, "support", Priority.NORMAL)
    deadline = Deadline(1, "first_response", BREACH, "k", moment("2026-11-23 13:00"))
    change = firing(deadline, ticket(), terms, doc.queues)
    assert (change.queue, change.assignee, change.in_queue) == ("tier2", UNASSIGN, "support")
    assert (change.priority, change.tags, change.actor) == (
        Priority.URGENT, ("vip", "late"), SLA_ACTOR,
    )  # fmt: skip
    assert change.cause is not None
    assert change.cause.kind is EventKind.SLA_BREACH
    assert change.cause.detail["metric"] == "first_response"


def test_a_ticket_closed_after_its_deadline_gets_the_breach_and_no_action() -> None:
    doc = load_ruleset(ACTING, "r").doc
    terms = terms_for(doc, "support", Priority.NORMAL)
    deadline = Deadline(1, "first_response", BREACH, "k", moment("2026-11-23 13:00"))
    closed = dataclasses.replace(ticket(), status=Status.CLOSED)
    change = firing(deadline, closed, terms, doc.queues)
    assert (change.queue, change.priority, change.tags, change.assignee) == (None,) * 4
    assert change.cause is not None
    assert (change.cause.kind, change.once) == (EventKind.SLA_BREACH, True)


def test_a_warning_or_a_bare_breach_only_records() -> None:
    terms = terms_for(DOC, "support", Priority.NORMAL)
    for kind, event in ((WARNING, EventKind.SLA_WARNING), (BREACH, EventKind.SLA_BREACH)):
        deadline = Deadline(1, "resolution", kind, "k", moment("2026-11-23 13:00"))
        change = firing(deadline, ticket(), terms, DOC.queues)
        assert (change.queue, change.priority, change.tags, change.assignee) == (None,) * 4
        assert change.cause is not None
        assert change.cause.kind is event
