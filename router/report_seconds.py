"""The kinds of seconds a report counts in (its `seconds` parameter): calendar seconds, or
business seconds on the calendar of each ticket's queue (as the ticket stood at the window's
end; a queue without a calendar, or one the rules no longer have, is always open, so its
business seconds are calendar seconds). Pure: the rules in force are passed in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from router.hours import Calendar
from router.report_facts import TicketFacts
from router.reports import Elapsed, calendar_seconds
from router.sla.business import business_time
from router.spec import RulesDoc


def business_seconds(doc: RulesDoc) -> Elapsed:
    """Seconds the ticket's queue was open between two moments."""
    calendars: Mapping[str, Calendar | None] = {
        name: doc.calendars.get(spec.calendar) if spec.calendar else None
        for name, spec in doc.queues.items()
    }

    def elapsed(facts: TicketFacts, start: datetime, end: datetime) -> float:
        calendar = calendars.get(facts.queue or "")
        return business_time(calendar, start, end).total_seconds()

    return elapsed


def kinds_of_seconds(doc: RulesDoc) -> dict[str, Elapsed]:
    """By the name the `seconds` parameter gives."""
    return {"calendar": calendar_seconds, "business": business_seconds(doc)}
