"""A report's figures per bucket of time: tickets created, first-response percentiles and
the SLA met, for the volume series and its charts. Pure, time passed in.

A bucket's figures are those of the tickets created in it (the report's cohort, split by
creation time and key as `router.reports.volume` splits it, so the counts are the volume's).
The SLA side comes from a fold of its own (`SlaLedger`, fed the same events as the report's
`Ledger`): how each ticket was routed when created, and whether the SLA clock recorded a
breach of it before the window's end. A ticket counts toward a bucket's SLA when its route
had a target (the caller's `Targeted`, from the rules in force) or it breached one; it met
the SLA when no breach is on its record (yet: a clock still running has not missed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from core.record import EventKind, TicketEvent
from router.report_facts import TicketFacts, Window
from router.reports import (
    Grouping,
    Key,
    Metric,
    Report,
    Share,
    Spread,
    behind,
    bucket_of,
    share,
    spread,
)

Targeted = Callable[[str, str, str | None], bool]
"""(queue, priority, rule) as a ticket was routed -> whether that route has an SLA target."""


@dataclass(frozen=True, slots=True)
class Route:
    queue: str
    priority: str
    rule: str | None


@dataclass(slots=True)
class SlaLedger:
    """Each cohort ticket's route at creation and whether it breached, event by event."""

    window: Window
    routes: dict[int, Route] = field(default_factory=dict)
    breached: set[int] = field(default_factory=set)

    def add(self, event: TicketEvent) -> None:
        """Fold one event in (events come in sequence order)."""
        if not self.window.start <= event.at < self.window.end:
            return
        if event.kind is EventKind.CREATED:
            detail = event.detail
            rule = detail.get("rule")
            self.routes[event.ticket_id] = Route(
                str(detail.get("queue") or ""),
                str(detail.get("priority") or "normal"),
                rule if isinstance(rule, str) else None,
            )
        elif event.kind is EventKind.SLA_BREACH and event.ticket_id in self.routes:
            self.breached.add(event.ticket_id)


@dataclass(frozen=True, slots=True)
class SeriesRow:
    bucket: datetime  # the bucket's start in the report's time zone
    key: str  # "" in the totals
    count: int
    first_response: Spread
    sla: Share  # of: tickets with a target; count: of those, not breached
    breached: int


def series(
    report: Report,
    sla: SlaLedger,
    targeted: Targeted,
    group_by: Grouping,
    by: Key | None,
    zone: tzinfo,
) -> list[SeriesRow]:
    """One row per bucket and key (`by` None: per bucket, all keys together), in order."""
    cells: dict[tuple[datetime, str], list[TicketFacts]] = {}
    for facts in report.facts:
        bucket = bucket_of(facts.created_at, group_by, zone)
        for key in keys_of(facts, by):
            cells.setdefault((bucket, key), []).append(facts)
    return [
        _row(bucket, key, Report(kept, report.contacts, report.window, report.elapsed), sla,
             targeted)
        for (bucket, key), kept in sorted(cells.items())
    ]  # fmt: skip


def keys_of(facts: TicketFacts, by: Key | None) -> list[str]:
    """The keys a ticket counts under (as the volume series counts it)."""
    if by is None:
        return [""]
    if by is Key.AGENT:
        return sorted(facts.agents)
    value = facts.channel if by is Key.CHANNEL else facts.queue
    return [value or ""]


def _row(bucket: datetime, key: str, cell: Report, sla: SlaLedger, targeted: Targeted) -> SeriesRow:
    first = spread(v for _, v in behind(cell, Metric.FIRST_RESPONSE))
    measured = list(_measured(cell.facts, sla, targeted))
    missed = sum(1 for ticket_id in measured if ticket_id in sla.breached)
    return SeriesRow(
        bucket, key, len(cell.facts), first, share(len(measured) - missed, len(measured)), missed
    )


def _measured(facts: Iterable[TicketFacts], sla: SlaLedger, targeted: Targeted) -> Iterable[int]:
    """The tickets an SLA applies to: their route has a target, or they breached one."""
    for f in facts:
        route = sla.routes.get(f.ticket_id)
        if f.ticket_id in sla.breached or (
            route is not None and targeted(route.queue, route.priority, route.rule)
        ):
            yield f.ticket_id
