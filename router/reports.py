"""Reports' figures from the cohort's facts (router/report_facts.py): pure, time passed in.

Every figure is the size of a list of tickets (`behind`), so a summary, a volume series and
the drill-down behind a number cannot disagree: the summary counts what `behind` lists, and
a volume series splits the same tickets by time and key. Durations are percentiles (nearest
rank) and means: one old ticket moves a mean, not a median.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from router.report_facts import TicketFacts, Window
from router.spec import SLA_ORDER

Elapsed = Callable[[TicketFacts, datetime, datetime], float]
"""Seconds between two moments of a ticket: calendar seconds here; business seconds (the
ticket's queue's calendar) plug in the same way."""


def calendar_seconds(_facts: TicketFacts, start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


Targets = Callable[[str, str, str | None], frozenset[str]]
"""(queue, priority, rule) as a ticket was routed -> the SLA clocks with a target on that
route (under the rules in force: the caller's, hub/api/reports.py `targets_of`)."""


def no_targets(_queue: str, _priority: str, _rule: str | None) -> frozenset[str]:
    return frozenset()


CLOCKS: tuple[str, ...] = tuple(metric.value for metric in SLA_ORDER)
"""The SLA clocks a summary gives the SLA met of, in the order the rules name them."""


class Metric(StrEnum):
    CREATED = "created"  # tickets created in the window
    RESOLVED = "resolved"  # of those, resolved (or closed) at its end; value: resolution time
    BACKLOG = "backlog"  # of those, not resolved at its end
    FIRST_RESPONSE = "first_response"  # of those, answered by its end; value: the wait
    ONE_TOUCH = "one_touch"  # resolved with exactly one agent reply
    REPEAT_CONTACT = "repeat_contact"  # resolved, the customer back within the follow-up
    HANDLED = "handled"  # held or answered by an agent (needs the agent); value: held seconds
    SLA_MET = "sla_met"  # an SLA applies (of `clock`, or any) and none of it was breached
    SLA_BREACHED = "sla_breached"  # a breach (of `clock`, or any) is on its record


class Grouping(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class Key(StrEnum):
    CHANNEL = "channel"
    QUEUE = "queue"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which tickets of the cohort a report counts."""

    queue: str | None = None
    channel: str | None = None
    agent: str | None = None

    def admits(self, facts: TicketFacts) -> bool:
        return (
            (self.queue is None or facts.queue == self.queue)
            and (self.channel is None or facts.channel == self.channel)
            and (self.agent is None or self.agent in facts.agents)
        )


@dataclass(frozen=True, slots=True)
class Spread:
    count: int
    p50: float | None
    p90: float | None
    mean: float | None


@dataclass(frozen=True, slots=True)
class Share:
    of: int
    count: int
    percent: float | None


@dataclass(frozen=True, slots=True)
class AgentFigures:
    agent: str
    handled: int
    first_response: Spread
    handle_time: Spread


@dataclass(frozen=True, slots=True)
class Summary:
    created: int
    resolved: int
    backlog: int
    first_response: Spread
    resolution: Spread
    one_touch: Share
    repeat_contact: Share
    agents: tuple[AgentFigures, ...]
    sla: Share
    """Of the tickets an SLA applies to (any clock), those with no breach."""
    sla_clocks: tuple[tuple[str, Share], ...]
    """The same per clock (`CLOCKS`): of those with a target for it or its breach, those
    without its breach."""


@dataclass(frozen=True, slots=True)
class Report:
    """A window's facts and contacts, with how to count time: what every figure reads."""

    facts: Sequence[TicketFacts]
    contacts: Mapping[str, Sequence[datetime]]
    window: Window
    elapsed: Elapsed = calendar_seconds
    targets: Targets = no_targets

    def scoped(self, scope: Scope) -> Report:
        return self.keeping([f for f in self.facts if scope.admits(f)])

    def keeping(self, facts: Sequence[TicketFacts]) -> Report:
        """The same report of some of its tickets."""
        return Report(facts, self.contacts, self.window, self.elapsed, self.targets)


Row = tuple[int, float | None]
"""A ticket behind a number, with its value (seconds) when the metric has one."""


def behind(
    report: Report, metric: Metric, agent: str | None = None, clock: str | None = None
) -> list[Row]:
    """The tickets behind a metric, by id (`clock`: the SLA clock of sla_met and
    sla_breached; None: any)."""
    facts, seconds = report.facts, report.elapsed
    if metric in (Metric.SLA_MET, Metric.SLA_BREACHED):
        missed = metric is Metric.SLA_BREACHED
        return [
            (f.ticket_id, None)
            for f in facts
            if measured(f, route_targets(report, f), clock) and breached(f, clock) is missed
        ]
    if metric is Metric.CREATED:
        return [(f.ticket_id, None) for f in facts]
    if metric is Metric.BACKLOG:
        return [(f.ticket_id, None) for f in facts if f.resolved_at is None]
    if metric is Metric.FIRST_RESPONSE:
        return [
            (f.ticket_id, seconds(f, f.asked_at or f.created_at, f.first_response_at))
            for f in facts
            if f.first_response_at is not None
        ]
    if metric is Metric.HANDLED:
        return [(f.ticket_id, f.held.get(agent or "", 0.0)) for f in facts if agent in f.agents]
    resolved = [f for f in facts if f.resolved_at is not None]
    if metric is Metric.ONE_TOUCH:
        resolved = [f for f in resolved if f.replies == 1]
    elif metric is Metric.REPEAT_CONTACT:
        resolved = [f for f in resolved if f.repeat]
    return [(f.ticket_id, seconds(f, f.created_at, f.resolved_at)) for f in resolved]  # type: ignore[arg-type]  # resolved_at is set: filtered above


def measured(facts: TicketFacts, targets: frozenset[str], clock: str | None = None) -> bool:
    """Whether an SLA applies to the ticket, given the clocks its route has targets for:
    a target (of `clock`; None: of any clock), or a breach (of it) on its record."""
    return breached(facts, clock) or (bool(targets) if clock is None else clock in targets)


def breached(facts: TicketFacts, clock: str | None = None) -> bool:
    return bool(facts.breaches) if clock is None else clock in facts.breaches


def route_targets(report: Report, facts: TicketFacts) -> frozenset[str]:
    route = facts.route
    return report.targets(route.queue, route.priority, route.rule)


def sla_shares(
    report: Report, clocks: Sequence[str | None] = (None, *CLOCKS)
) -> dict[str | None, Share]:
    """The SLA met of each clock (None: any), the size of `behind(SLA_MET, clock)` of it
    and `behind(SLA_BREACHED, clock)`, in one pass (a year's fold has a million tickets)."""
    of: Counter[str | None] = Counter()
    met: Counter[str | None] = Counter()
    for f in report.facts:
        targets = route_targets(report, f)
        for clock in clocks:
            if measured(f, targets, clock):
                of[clock] += 1
                met[clock] += not breached(f, clock)
    return {clock: share(met[clock], of[clock]) for clock in clocks}


def summarize(report: Report) -> Summary:
    """Every figure of the summary, each the size (or spread) of a `behind` list."""
    resolved = behind(report, Metric.RESOLVED)
    sla = sla_shares(report)
    return Summary(
        created=len(report.facts),
        resolved=len(resolved),
        backlog=len(behind(report, Metric.BACKLOG)),
        first_response=spread(v for _, v in behind(report, Metric.FIRST_RESPONSE)),
        resolution=spread(v for _, v in resolved),
        one_touch=share(len(behind(report, Metric.ONE_TOUCH)), len(resolved)),
        repeat_contact=share(len(behind(report, Metric.REPEAT_CONTACT)), len(resolved)),
        agents=agents_figures(report),
        sla=sla[None],
        sla_clocks=tuple((clock, sla[clock]) for clock in CLOCKS),
    )


def agents_of(facts: Iterable[TicketFacts]) -> list[str]:
    return sorted({name for f in facts for name in f.agents})


def agents_figures(report: Report) -> tuple[AgentFigures, ...]:
    """Each agent's handled (the size of `behind(HANDLED, agent)`), first responses and
    handle times, in one pass over the tickets."""
    first: dict[str, list[float]] = {}
    held: dict[str, list[float]] = {}
    for f in report.facts:
        for agent in f.agents:
            held.setdefault(agent, []).append(f.held.get(agent, 0.0))
        if f.first_responder is not None and f.first_response_at is not None:
            seconds = report.elapsed(f, f.asked_at or f.created_at, f.first_response_at)
            first.setdefault(f.first_responder, []).append(seconds)
    return tuple(
        AgentFigures(agent, len(held[agent]), spread(first.get(agent, ())), spread(held[agent]))
        for agent in sorted(held)
    )


def spread(values: Iterable[float | None]) -> Spread:
    """Count, p50 and p90 (nearest rank: a value that occurred) and mean of the values."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return Spread(0, None, None, None)
    return Spread(
        len(ordered),
        nearest_rank(ordered, 50),
        nearest_rank(ordered, 90),
        round(math.fsum(ordered) / len(ordered), 3),
    )


def nearest_rank(ordered: Sequence[float], percent: float) -> float:
    """The smallest value with at least `percent` % of the values at or below it."""
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def share(count: int, of: int) -> Share:
    return Share(of, count, None if of == 0 else round(100 * count / of, 2))


@dataclass(frozen=True, slots=True)
class VolumeRow:
    bucket: datetime  # the bucket's start in the report's time zone
    key: str
    count: int


def volume(report: Report, group_by: Grouping, by: Key, zone: tzinfo) -> list[VolumeRow]:
    """Tickets created per bucket of their creation time and per channel or queue (each
    ticket once: the rows add up to `created`), or per agent who handled them (a ticket once
    per agent: an agent's rows add up to the agent's `handled`)."""
    counts: Counter[tuple[datetime, str]] = Counter()
    for facts in report.facts:
        bucket = bucket_of(facts.created_at, group_by, zone)
        for key in _keys(facts, by):
            counts[(bucket, key)] += 1
    return [VolumeRow(bucket, key, n) for (bucket, key), n in sorted(counts.items())]


def _keys(facts: TicketFacts, by: Key) -> list[str]:
    if by is Key.AGENT:
        return sorted(facts.agents)
    value = facts.channel if by is Key.CHANNEL else facts.queue
    return [value or ""]


def bucket_of(moment: datetime, group_by: Grouping, zone: tzinfo) -> datetime:
    """The start of the hour, day or week (from Monday) holding `moment`, in `zone`."""
    local = moment.astimezone(zone)
    if group_by is Grouping.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    if group_by is Grouping.WEEK:
        day -= timedelta(days=day.weekday())
    return day.replace(tzinfo=zone)  # the zone's offset on that day (DST moves it)
