"""A report's figures per bucket of time: tickets created, first-response percentiles and
the SLA met, for the volume series and its charts. Pure, time passed in.

A bucket's figures are those of the tickets created in it (the report's cohort, split by
creation time and key as `router.reports.volume` splits it, so the counts are the volume's).
A ticket counts toward a bucket's SLA when the route it was given at creation has a target
(the report's `Targets`, from the rules in force) or a breach of a clock is on its record
before the window's end; it met the SLA when none is (yet: a clock still running has not
missed). The summary's `sla` is the same figure over the whole window (router/reports.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from router.report_facts import TicketFacts
from router.reports import (
    Grouping,
    Key,
    Metric,
    Report,
    Share,
    Spread,
    behind,
    bucket_of,
    sla_shares,
    spread,
)


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
    rows = sorted(cells.items())
    return [_row(bucket, key, report.keeping(kept)) for (bucket, key), kept in rows]


def keys_of(facts: TicketFacts, by: Key | None) -> list[str]:
    """The keys a ticket counts under (as the volume series counts it)."""
    if by is None:
        return [""]
    if by is Key.AGENT:
        return sorted(facts.agents)
    value = facts.channel if by is Key.CHANNEL else facts.queue
    return [value or ""]


def _row(bucket: datetime, key: str, cell: Report) -> SeriesRow:
    first = spread(v for _, v in behind(cell, Metric.FIRST_RESPONSE))
    sla = sla_shares(cell, (None,))[None]
    return SeriesRow(bucket, key, len(cell.facts), first, sla, sla.of - sla.count)
