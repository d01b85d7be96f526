"""Reports for supervisors: `GET /api/reports/summary`, `/volume` and `/tickets`, JSON or CSV.

The record is the one source: the events of the window are read through the store's time
index (`Store.event_seq_at`, then `events_after` page by page) and folded into the cohort's
facts (router/report_facts.py); the figures are pure functions of those (router/reports.py).
Parameters: `from`, `to` (ISO dates or times; without an offset, in `tz`; default the last 7
days), `tz` (an IANA zone, default UTC), `queue`, `channel`, `agent`, `seconds` (`calendar`,
or `business` on each ticket's queue's calendar: router/report_seconds.py) and `format` (json,
csv).
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from core.errors import InvalidRequest
from core.model import Priority, Role
from hub.api.auth import require
from hub.api.report_rollups import rolled_series, rolled_summary
from hub.api.report_views import (
    csv_response,
    summary_json,
    summary_rows,
    volume_json,
    volume_rows,
)
from hub.params import one_of, query_params
from hub.state import CLOCK, ROUTER, STORE
from router.report_facts import Ledger, Window
from router.report_seconds import kinds_of_seconds
from router.reports import (
    CLOCKS,
    Elapsed,
    Grouping,
    Key,
    Metric,
    Report,
    Scope,
    Summary,
    Targets,
    behind,
    summarize,
)
from router.series import SeriesRow, series
from router.sla.policy import terms_for
from router.spec import SLA_ORDER, RulesDoc
from storage.base import Store

PAGE = 2000
"""Events read from the store at a time."""
AT_ONCE = 2
"""Reports a hub computes at the same time (the others wait their turn): a year's report
folds every event of the year on the hub's one core."""
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
MAX_DAYS = 400
DEFAULT_DAYS = 7
COMMON = ("from", "to", "tz", "queue", "channel", "agent", "seconds", "format")


async def read_report(store: Store, window: Window, elapsed: Elapsed, targets: Targets) -> Report:
    """The window's facts, read from the record through its time index (the next page is
    read while this one is folded)."""
    ledger = Ledger(window)
    after = await store.event_seq_at(window.start)
    events = await store.events_after(after, PAGE)
    while events:
        ahead = None
        if len(events) == PAGE and events[-1].at < window.read_until:
            ahead = asyncio.ensure_future(store.events_after(events[-1].seq, PAGE))
        for event in events:
            if event.at >= window.read_until:
                break
            ledger.add(event)
        events = await ahead if ahead is not None else []
    return Report(ledger.facts(), ledger.contacts, ledger.window, elapsed, targets)


class ReportQuery:
    """A report's parameters, read and refused (400) by name."""

    def __init__(self, request: web.Request, extra: tuple[str, ...] = ()) -> None:
        require(request, Role.SUPERVISOR)  # who asks before what: a 403 is never a 400
        self.params = query_params(request, COMMON + extra)
        self.zone = _zone(self.params.get("tz") or "UTC")
        self.window = _window(self.params, self.zone, request.config_dict[CLOCK]())
        self.scope = Scope(*(self.params.get(k) or None for k in ("queue", "channel", "agent")))
        self.csv = _format(self.params.get("format"))
        doc = request.config_dict[ROUTER].rules.ruleset.doc
        self.targets = targets_of(doc)
        kinds = kinds_of_seconds(doc)
        self.seconds = self.params.get("seconds") or "calendar"
        if self.seconds not in kinds:
            raise InvalidRequest(f"seconds must be one of {', '.join(sorted(kinds))}")
        self.elapsed = kinds[self.seconds]

    async def report(self, request: web.Request) -> Report:
        turns = _turns.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(AT_ONCE))
        async with turns:
            store = request.config_dict[STORE]
            report = await read_report(store, self.window, self.elapsed, self.targets)
        return report.scoped(self.scope)

    async def rolled(self, request: web.Request) -> Summary | None:
        """The summary from the rollup cells, when they can answer (hub/api/report_rollups.py)."""
        if self.seconds != "calendar":
            return None  # the cells count calendar seconds
        now = request.config_dict[CLOCK]()
        store = request.config_dict[STORE]
        return await rolled_summary(store, self.window, self.scope, now, self.targets)

    async def rolled_series(
        self, request: web.Request, shape: tuple[Grouping, Key, tzinfo]
    ) -> tuple[list[SeriesRow], list[SeriesRow]] | None:
        if self.seconds != "calendar":
            return None
        store, now = request.config_dict[STORE], request.config_dict[CLOCK]()
        return await rolled_series(store, self.window, self.scope, now, shape, self.targets)

    def head(self) -> dict[str, Any]:
        """What every answer repeats of its question."""
        return {
            "from": self.window.start.astimezone(self.zone).isoformat(),
            "to": self.window.end.astimezone(self.zone).isoformat(),
            "tz": str(self.zone),
            "seconds": self.seconds,
            "queue": self.scope.queue,
            "channel": self.scope.channel,
            "agent": self.scope.agent,
        }


FIRST_YEAR, LAST_YEAR = 1970, 9000


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise InvalidRequest(f"tz: unknown time zone {name[:60]!r}") from None


def _window(params: Mapping[str, str], zone: tzinfo, now: datetime) -> Window:
    end = _moment(params.get("to"), "to", zone) or now
    start = _moment(params.get("from"), "from", zone) or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InvalidRequest("from must be before to")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidRequest(f"a report covers at most {MAX_DAYS} days")
    return Window(start, end)


def _moment(raw: str | None, name: str, zone: tzinfo) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an ISO date or time, e.g. 2026-11-30") from None
    if not FIRST_YEAR <= moment.year < LAST_YEAR:  # window arithmetic would overflow datetime
        raise InvalidRequest(f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _format(raw: str | None) -> bool:
    if raw not in (None, "", "json", "csv"):
        raise InvalidRequest("format must be json or csv")
    return raw == "csv"


async def get_summary(request: web.Request) -> web.StreamResponse:
    """Created, resolved, backlog, first response and resolution, one-touch, repeat
    contacts and the agents' figures of the tickets created in the window."""
    query = ReportQuery(request)
    summary = await query.rolled(request)
    source = "rollups" if summary is not None else "record"
    summary = summary or summarize(await query.report(request))
    if query.csv:
        return csv_response("summary", summary_rows(summary))
    return web.json_response({**query.head(), "source": source, **summary_json(summary)})


async def get_volume(request: web.Request) -> web.StreamResponse:
    """Tickets created per hour, day or week (in `tz`) and per channel, queue or agent, each
    row with its tickets' first-response spread and SLA met (router/series.py); `totals`
    has the same figures per bucket, every key together (what the charts draw)."""
    query = ReportQuery(request, ("group_by", "by"))
    group_by = one_of(Grouping, query.params.get("group_by") or "day", "group_by") or Grouping.DAY
    by = one_of(Key, query.params.get("by") or "channel", "by") or Key.CHANNEL
    rolled = await query.rolled_series(request, (group_by, by, query.zone))
    rows, totals = rolled or await _folded_series(request, query, (group_by, by))
    if query.csv:
        return csv_response("volume", volume_rows(rows))
    return web.json_response(
        {**query.head(), "source": "record" if rolled is None else "rollups", "group_by": group_by,
         "by": by, "items": [volume_json(r) for r in rows],
         "totals": [{k: v for k, v in volume_json(r).items() if k != "key"} for r in totals]}
    )  # fmt: skip


async def _folded_series(
    request: web.Request, query: ReportQuery, shape: tuple[Grouping, Key]
) -> tuple[list[SeriesRow], list[SeriesRow]]:
    """The volume rows and totals folded from the record."""
    group_by, by = shape
    report = await query.report(request)
    return series(report, group_by, by, query.zone), series(report, group_by, None, query.zone)


def targets_of(doc: RulesDoc) -> Targets:
    """The SLA clocks with a target on a route under these rules (a priority the rules do
    not know has none); remembered per route, as a report asks once per ticket."""

    @functools.lru_cache(maxsize=4096)
    def targets(queue: str, priority: str, rule: str | None) -> frozenset[str]:
        try:
            terms = terms_for(doc, queue, Priority(priority), rule)
        except ValueError:
            return frozenset()
        return frozenset(m.value for m in SLA_ORDER if terms.sla.target(m) is not None)

    return targets


SLA_METRICS = (Metric.SLA_MET, Metric.SLA_BREACHED)


async def get_tickets(request: web.Request) -> web.StreamResponse:
    """The tickets behind a metric, with its value in seconds where it has one."""
    query = ReportQuery(request, ("metric", "clock"))
    metric = one_of(Metric, query.params.get("metric"), "metric")
    if metric is None:
        raise InvalidRequest(f"metric is required: one of {', '.join(Metric)}")
    if metric is Metric.HANDLED and query.scope.agent is None:
        raise InvalidRequest("metric handled needs an agent")
    clock = query.params.get("clock") or None
    if clock is not None and metric not in SLA_METRICS:
        raise InvalidRequest("clock is for the metrics sla_met and sla_breached")
    if clock is not None and clock not in CLOCKS:
        raise InvalidRequest(f"clock must be one of {', '.join(CLOCKS)}")
    rows = behind(await query.report(request), metric, query.scope.agent, clock)
    if query.csv:
        return csv_response(
            "tickets", [["ticket_id", "value"], *[[ticket_id, value] for ticket_id, value in rows]]
        )
    items = [{"ticket_id": ticket_id, "value": value} for ticket_id, value in rows]
    return web.json_response({**query.head(), "metric": metric, "clock": clock,
                              "count": len(items), "items": items, "next": None})  # fmt: skip


ROUTES = [
    web.get("/reports/summary", get_summary),
    web.get("/reports/volume", get_volume),
    web.get("/reports/tickets", get_tickets),
]
