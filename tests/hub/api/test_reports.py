"""Reports over real HTTP on SQLite and Redis: the scripted fortnight's hand-computed figures,
equal in the summary (JSON and CSV), the volume series and the drill-down; CSV cells that a
spreadsheet would run are neutralised; bad parameters are refused with a reason."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.model import Cause, Role, TicketChange
from core.record import CLOCK, EventKind
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.api.fortnight import BEHIND, END, FIGURES, START, h, spread, write_fortnight

BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


WINDOW = {"from": START.isoformat(), "to": END.isoformat()}


async def get(hub: Hub, path: str, auth: dict[str, str], **params: str) -> tuple[int, Any]:
    async with hub.http.get(path, params={**WINDOW, **params}, headers=auth) as response:
        if response.content_type == "text/csv":
            return response.status, list(csv.reader(io.StringIO(await response.text())))
        return response.status, await response.json()


@pytest.fixture
async def boss(hub: Hub) -> dict[str, str]:
    return await hub.token(Role.SUPERVISOR, "sue")


async def test_the_fortnights_figures_are_the_hand_computed_ones(
    hub: Hub, boss: dict[str, str]
) -> None:
    ids = await write_fortnight(hub.store)
    status, summary = await get(hub, "/api/reports/summary", boss)
    assert status == 200, summary
    assert {k: summary[k] for k in FIGURES} == FIGURES
    assert (summary["tz"], summary["seconds"]) == ("UTC", "calendar")
    for metric, names in BEHIND.items():
        status, listing = await get(hub, "/api/reports/tickets", boss, metric=metric)
        assert status == 200, listing
        assert [item["ticket_id"] for item in listing["items"]] == [ids[n] for n in names]
        assert listing["count"] == len(names)
    _, resolution = await get(hub, "/api/reports/tickets", boss, metric="resolved")
    assert [item["value"] for item in resolution["items"]] == [7200.0, 18000.0, 28800.0]


async def test_summary_volume_and_drill_down_agree(hub: Hub, boss: dict[str, str]) -> None:
    await write_fortnight(hub.store)
    _, summary = await get(hub, "/api/reports/summary", boss)
    for by in ("channel", "queue"):
        for group_by in ("hour", "day", "week"):
            _, series = await get(hub, "/api/reports/volume", boss, by=by, group_by=group_by)
            assert sum(row["count"] for row in series["items"]) == summary["created"]
    _, agents = await get(hub, "/api/reports/volume", boss, by="agent")
    for agent in summary["agents"]:
        rows = [row for row in agents["items"] if row["key"] == agent["agent"]]
        _, handled = await get(hub, "/api/reports/tickets", boss, metric="handled",
                               agent=agent["agent"])  # fmt: skip
        assert sum(row["count"] for row in rows) == agent["handled"] == handled["count"]
    _, billing = await get(hub, "/api/reports/summary", boss, queue="billing")
    _, listing = await get(hub, "/api/reports/tickets", boss, queue="billing", metric="created")
    assert billing["created"] == listing["count"] == 2  # t1, t4 (t2 is in "=billing")


async def test_daily_volume_by_channel_in_a_time_zone(hub: Hub, boss: dict[str, str]) -> None:
    await write_fortnight(hub.store)
    _, series = await get(hub, "/api/reports/volume", boss, by="channel", tz="Asia/Tokyo")
    day = (START + timedelta(hours=9)).astimezone(ZoneInfo("Asia/Tokyo")).date()  # 18:00 there
    assert [(row["bucket"][:10], row["key"], row["count"]) for row in series["items"]] == [
        (str(day), "email", 1),  # t1
        (str(day + timedelta(days=1)), "form", 1),  # t2: 05:00 UTC, 14:00 in Tokyo
        (str(day + timedelta(days=1)), "sms", 1),  # t3
        (str(day + timedelta(days=3)), "email", 1),  # t4
        (str(day + timedelta(days=13)), "slack", 1),  # t6
    ]
    assert series["items"][0]["bucket"].endswith("T00:00:00+09:00")


async def test_the_summary_as_csv_has_the_same_figures(hub: Hub, boss: dict[str, str]) -> None:
    await write_fortnight(hub.store)
    _, rows = await get(hub, "/api/reports/summary", boss, format="csv")
    assert rows[0] == ["metric", "agent", "count", "of", "percent", "p50", "p90", "mean"]
    table = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert table[("created", "")] == ["5"]
    assert table[("first_response", "")] == ["3", "", "", "3600.0", "10800.0", "5400.0"]
    assert table[("repeat_contact", "")] == ["1", "3", "33.33"]
    assert table[("agent_handle_time", "ann")] == ["2", "", "", "6600.0", "21600.0", "14100.0"]


async def test_csv_cells_that_would_run_as_formulas_are_neutralised(
    hub: Hub, boss: dict[str, str]
) -> None:
    await write_fortnight(hub.store)
    _, rows = await get(hub, "/api/reports/volume", boss, by="queue", format="csv")
    assert [row[1] for row in rows if "billing" in row[1] and "=" in row[1]] == ["'=billing"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    ("path", "params", "status", "reason"),
    [
        ("summary", {"tz": "Mars/Olympus"}, 400, "unknown time zone"),
        ("summary", {"from": "yesterday"}, 400, "from must be an ISO date"),
        ("summary", {"from": "2026-11-10", "to": "2026-11-01"}, 400, "from must be before to"),
        ("summary", {"from": "2024-01-01", "to": "2026-01-01"}, 400, "at most 400 days"),
        ("summary", {"format": "xlsx"}, 400, "format must be json or csv"),
        ("summary", {"seconds": "wall"}, 400, "seconds must be one of business, calendar"),
        ("summary", {"colour": "red"}, 400, "unknown parameter 'colour'"),
        ("volume", {"group_by": "month"}, 400, "group_by must be one of hour, day, week"),
        ("volume", {"by": "customer"}, 400, "by must be one of channel, queue, agent"),
        ("tickets", {}, 400, "metric is required"),
        ("tickets", {"metric": "handled"}, 400, "handled needs an agent"),
        ("tickets", {"metric": "happiness"}, 400, "metric must be one of"),
        ("tickets", {"metric": "created", "clock": "resolution"}, 400, "clock is for the"),
        ("tickets", {"metric": "sla_met", "clock": "lunch"}, 400, "clock must be one of"),
    ],
    ids=lambda v: str(v)[:24],
)
async def test_bad_parameters_are_refused_with_a_reason(
    hub: Hub, boss: dict[str, str], path: str, params: dict[str, str], status: int, reason: str
) -> None:
    async with hub.http.get(f"/api/reports/{path}", params=params, headers=boss) as response:
        assert response.status == status
        assert reason in (await response.json())["error"]


async def test_reports_are_for_supervisors(hub: Hub) -> None:
    agent = await hub.token(Role.AGENT, "ann")
    async with hub.http.get("/api/reports/summary", headers=agent) as response:
        assert response.status == 403


async def test_the_openapi_document_lists_events_and_reports(hub: Hub) -> None:
    async with hub.http.get("/api/openapi.json") as response:
        paths = (await response.json())["paths"]
    reports = {"/api/reports/summary", "/api/reports/volume", "/api/reports/tickets"}
    assert {"/api/events", *reports} <= set(paths)
    metric = next(p for p in paths["/api/reports/tickets"]["get"]["parameters"]
                  if p["name"] == "metric")  # fmt: skip
    assert "repeat_contact" in metric["schema"]["enum"]


SLA_RULES = """
queues:
  general: {kind: inbound}
  billing: {kind: inbound, sla: {first_response: 1000h}}
default: {queue: general}
"""


async def fortnight_hub(
    start_hub: StartHub, make_settings: MakeSettings, folder: Path, rules: str
) -> tuple[Hub, dict[str, str], dict[str, int]]:
    """A hub under these rules (a file in `folder`), a supervisor's token, and the
    fortnight written into its store."""
    path = folder / "rules.yaml"
    path.write_text(rules, encoding="utf-8")
    hub = await start_hub(make_settings(routing={"rules": str(path), "watch_interval": "0s"}))
    return hub, await hub.token(Role.SUPERVISOR, "sue"), await write_fortnight(hub.store)


async def breach(hub: Hub, ticket_id: int, at: datetime, clock: str = "first_response") -> None:
    """The SLA clock's breach of the ticket's first response, as the watcher writes it."""
    detail = {"metric": clock, "key": "k", "due": at.isoformat(), "queue": "billing"}
    cause = Cause(EventKind.SLA_BREACH, detail)
    await hub.store.update_ticket(ticket_id, TicketChange(actor=CLOCK, cause=cause, once=True), at)


async def test_the_volume_series_has_first_responses_and_the_sla_met_per_day(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    """Each row counts its tickets' first responses (p50, p90) and how many of those with an
    SLA target (billing's, or a breach on the record) were not breached; `totals` is the
    same per day, every key together; the CSV adds the figures after the old columns."""
    hub, boss, ids = await fortnight_hub(start_hub, make_settings, tmp_path, SLA_RULES)
    await breach(hub, ids["t4"], h(73.5))
    status, series = await get(hub, "/api/reports/volume", boss, by="queue")
    assert status == 200, series
    rows = {(row["bucket"][:10], row["key"]): row for row in series["items"]}
    day = [str((START + timedelta(days=n)).date()) for n in range(14)]
    t1, t4 = rows[(day[0], "billing")], rows[(day[3], "billing")]
    assert (t1["count"], t1["first_response"]["p50"], t1["breached"]) == (1, 1800.0, 0)
    assert t1["sla"] == {"of": 1, "count": 1, "percent": 100.0}
    assert t4["sla"] == {"of": 1, "count": 0, "percent": 0.0}
    assert (t4["first_response"]["p90"], t4["breached"]) == (3600.0, 1)
    assert rows[(day[1], "general")]["sla"] == {"of": 0, "count": 0, "percent": None}  # t3
    totals = {row["bucket"][:10]: row for row in series["totals"]}
    assert [totals[d]["count"] for d in sorted(totals)] == [1, 2, 1, 1]  # t1, t2 t3, t4, t6
    assert totals[day[1]]["first_response"] == spread(1, 10800.0, 10800.0, 10800.0)  # t3
    assert sum(row["count"] for row in series["items"]) == FIGURES["created"]
    _, table = await get(hub, "/api/reports/volume", boss, by="queue", format="csv")
    assert table[0][:3] == ["bucket", "key", "count"]
    assert [r[3:] for r in table if r[1] == "billing"] == [
        ["1800.0", "1800.0", "1", "1", "100.0", "0"],
        ["3600.0", "3600.0", "1", "0", "0.0", "1"],
    ]


CLOCK_RULES = """
queues:
  general: {kind: inbound, sla: {next_response: 1000h}}
  billing: {kind: inbound, sla: {first_response: 1000h, resolution: 1000h}}
default: {queue: general}
"""
SLA_FIGURES = {
    # t1 t3 t4 t6 t7 have a target (t2's "=billing" is no queue of the rules); t3, t4 missed
    "sla": {"of": 5, "count": 3, "percent": 60.0},
    "sla_by_clock": {
        "first_response": {"of": 2, "count": 1, "percent": 50.0},  # t1, t4 (missed)
        "resolution": {"of": 3, "count": 2, "percent": 66.67},  # t1, t4 and t3 (missed: no target)
        "next_response": {"of": 3, "count": 3, "percent": 100.0},  # t3 t6 t7: general's
        "periodic_update": {"of": 0, "count": 0, "percent": None},
    },
}
SLA_BEHIND = {
    ("sla_met", ""): ["t1", "t6", "t7"],
    ("sla_breached", ""): ["t3", "t4"],
    ("sla_met", "first_response"): ["t1"],
    ("sla_breached", "first_response"): ["t4"],
    ("sla_met", "resolution"): ["t1", "t4"],
    ("sla_breached", "resolution"): ["t3"],
    ("sla_met", "next_response"): ["t3", "t6", "t7"],
    ("sla_breached", "periodic_update"): [],
}


async def test_the_sla_met_per_clock_is_the_hand_computed_one_everywhere(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    """The fortnight and t7 after it (a window past the last event: the cells can answer)
    under rules with targets per queue, t4's first response and t3's resolution breached:
    the summary's SLA met of any clock and of each, from the cells and from the record, in
    JSON and CSV, equal to the drill-down's lists and to the volume's totals."""
    hub, boss, ids = await fortnight_hub(start_hub, make_settings, tmp_path, CLOCK_RULES)
    await breach(hub, ids["t4"], h(73.5))
    await breach(hub, ids["t3"], h(28), "resolution")
    to = (END + timedelta(hours=2)).isoformat()
    sources = []
    for start in (START, START + timedelta(seconds=1)):  # from the cells, then the record
        window = {"from": start.isoformat(), "to": to}
        _, summary = await get(hub, "/api/reports/summary", boss, **window)
        assert {k: summary[k] for k in SLA_FIGURES} == SLA_FIGURES, summary["source"]
        sources.append(summary["source"])
        _, series = await get(hub, "/api/reports/volume", boss, **window)
        assert sum(row["sla"]["of"] for row in series["totals"]) == 5
        assert sum(row["sla"]["count"] for row in series["totals"]) == 3
    assert sources == ["rollups", "record"]
    for (metric, clock), names in SLA_BEHIND.items():
        _, listing = await get(hub, "/api/reports/tickets", boss, metric=metric, clock=clock, to=to)
        assert [item["ticket_id"] for item in listing["items"]] == [ids[n] for n in names]
    _, rows = await get(hub, "/api/reports/summary", boss, format="csv", to=to)
    table = {row[0]: row[2:5] for row in rows[1:] if row[0].startswith("sla")}
    assert table == {
        "sla": ["3", "5", "60.0"],
        "sla_first_response": ["1", "2", "50.0"],
        "sla_resolution": ["2", "3", "66.67"],
        "sla_next_response": ["3", "3", "100.0"],
        "sla_periodic_update": ["0", "0", ""],
    }
