"""Reports in business seconds over real HTTP on SQLite and Redis: each ticket's waits
counted on its queue's calendar (a weekend, a holiday and New York's spring-forward night
between), computed by hand beside the calendar seconds of the same tickets."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.model import Role
from core.record import Actor
from storage.base import Store
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.api.fortnight import (
    ANN,
    BOB,
    END,
    FIGURES,
    START,
    claim,
    contact,
    resolve,
    spread,
    write_fortnight,
)

RULES = """
calendars:
  office:
    timezone: America/New_York
    weekly: {mon-fri: "09:00-17:00"}
    holidays: [2026-03-09]
queues:
  office: {calendar: office}
  general: {}
default: {queue: general}
"""
WINDOW = {"from": "2026-03-02", "to": "2026-03-16", "tz": "America/New_York"}


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return await start_hub(make_settings(routing={"rules": str(rules)}))


async def reply(store: Store, ticket_id: int, agent: Actor, at: datetime) -> None:
    """A reply not yet reported on (a delivery report is stamped with the wall clock, and
    the record's times must follow its sequence for the window's time index)."""
    await store.append_outbound(ticket_id, "hello", agent.name, at)


async def write_tickets(hub: Hub) -> dict[str, int]:
    store = hub.store
    # t1, office: Friday 16:00 EST; the Monday is a holiday (and the clocks went forward on
    # the Sunday); answered Tuesday 10:00 EDT, resolved Tuesday 12:00 EDT.
    t1 = await contact(store, "b1", "email:one@x.org", "email", "office", utc(6, 21))
    await claim(store, t1, ANN, utc(6, 21, 30))
    await reply(store, t1, ANN, utc(10, 14))
    await resolve(store, t1, ANN, utc(10, 16))
    # t2, general (no calendar): answered in 30 min, resolved in an hour
    t2 = await contact(store, "b2", "email:two@x.org", "email", "general", utc(11, 10))
    await claim(store, t2, BOB, utc(11, 10))
    await reply(store, t2, BOB, utc(11, 10, 30))
    await resolve(store, t2, BOB, utc(11, 11))
    # t3, office: Saturday, never answered in the window
    t3 = await contact(store, "b3", "email:three@x.org", "email", "office", utc(14, 14))
    return {"t1": t1, "t2": t2, "t3": t3}


async def get(hub: Hub, path: str, auth: dict[str, str], **params: str) -> tuple[int, Any]:
    async with hub.http.get(path, params={**WINDOW, **params}, headers=auth) as response:
        return response.status, await response.json()


# t1: Fri 16-17 (1 h) + Tue 09-10 (1 h); calendar: Fri 21:00Z -> Tue 14:00Z = 89 h
# t1 resolved: + Tue 10-12 (2 h) = 4 h; calendar 91 h. t2: 30 min and 1 h either way.
BUSINESS = {
    "first_response": spread(2, 1800.0, 7200.0, 4500.0),
    "resolution": spread(2, 3600.0, 14400.0, 9000.0),
}
CALENDAR = {
    "first_response": spread(2, 1800.0, 320400.0, 161100.0),
    "resolution": spread(2, 3600.0, 327600.0, 165600.0),
}


async def test_business_seconds_count_only_the_queues_open_hours(hub: Hub) -> None:
    ids = await write_tickets(hub)
    boss = await hub.token(Role.SUPERVISOR, "sue")
    for seconds, expected in (("business", BUSINESS), ("calendar", CALENDAR)):
        status, summary = await get(hub, "/api/reports/summary", boss, seconds=seconds)
        assert status == 200, summary
        assert summary["seconds"] == seconds
        assert (summary["created"], summary["backlog"]) == (3, 1)
        assert {k: summary[k] for k in expected} == expected
    status, listing = await get(
        hub, "/api/reports/tickets", boss, metric="first_response", seconds="business"
    )
    assert status == 200, listing
    values = {item["ticket_id"]: item["value"] for item in listing["items"]}
    assert values == {ids["t1"]: 7200.0, ids["t2"]: 1800.0}


async def test_an_unknown_kind_of_seconds_names_the_kinds(hub: Hub) -> None:
    boss = await hub.token(Role.SUPERVISOR, "sue")
    status, answer = await get(hub, "/api/reports/summary", boss, seconds="wall")
    assert status == 400
    assert "seconds must be one of business, calendar" in str(answer)


FORTNIGHT_RULES = """
calendars:
  midday:
    timezone: UTC
    weekly: {mon-sun: "10:00-16:00"}
queues:
  billing: {calendar: midday}
  general: {}
default: {queue: general}
"""
# The golden fortnight (tests/hub/api/fortnight.py) with billing open 10:00-16:00 UTC every
# day; general and "=billing" have no calendar, so their business seconds are calendar ones.
# t1 (billing): created 09:00, answered 09:30 (closed: 0), resolved 11:00 (10-11: 1 h).
# t3 (general): 3 h and 5 h, as in calendar seconds.
# t4 (billing): created 09:00, answered 10:00 (0), last resolved 17:00 (10-16: 6 h).
FORTNIGHT_BUSINESS: dict[str, Any] = {
    **FIGURES,
    "first_response": spread(3, 0.0, 10800.0, 3600.0),  # 0, 0, 3 h
    "resolution": spread(3, 18000.0, 21600.0, 14400.0),  # 1 h, 5 h, 6 h
    "agents": [
        # first responses in business seconds; handle time is held time (calendar seconds)
        {**FIGURES["agents"][0], "first_response": spread(2, 0.0, 0.0, 0.0)},
        FIGURES["agents"][1],
    ],
}


@pytest.fixture
async def fortnight_hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    rules = tmp_path / "fortnight.yaml"
    rules.write_text(FORTNIGHT_RULES, encoding="utf-8")
    return await start_hub(make_settings(routing={"rules": str(rules)}))


async def test_the_fortnight_in_business_seconds_is_hand_computed_in_json_csv_and_drill_down(
    fortnight_hub: Hub,
) -> None:
    hub = fortnight_hub
    ids = await write_fortnight(hub.store)
    boss = await hub.token(Role.SUPERVISOR, "sue")
    window = {"from": START.isoformat(), "to": END.isoformat(), "seconds": "business"}
    async with hub.http.get("/api/reports/summary", params=window, headers=boss) as response:
        summary = await response.json()
    assert response.status == 200, summary
    assert {k: summary[k] for k in FORTNIGHT_BUSINESS} == FORTNIGHT_BUSINESS
    params = {**window, "format": "csv"}
    async with hub.http.get("/api/reports/summary", params=params, headers=boss) as response:
        rows = list(csv.reader(io.StringIO(await response.text())))
    table = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert table[("first_response", "")] == ["3", "", "", "0.0", "10800.0", "3600.0"]
    assert table[("resolution", "")] == ["3", "", "", "18000.0", "21600.0", "14400.0"]
    assert table[("agent_first_response", "ann")] == ["2", "", "", "0.0", "0.0", "0.0"]
    for metric, values in (
        ("first_response", {"t1": 0.0, "t3": 10800.0, "t4": 0.0}),
        ("resolved", {"t1": 3600.0, "t3": 18000.0, "t4": 21600.0}),
    ):
        params = {**window, "metric": metric}
        async with hub.http.get("/api/reports/tickets", params=params, headers=boss) as response:
            listing = await response.json()
        assert {item["ticket_id"]: item["value"] for item in listing["items"]} == {
            ids[name]: value for name, value in values.items()
        }
    # The volume series counts first responses the same way: t1's day has one, of 0 s.
    params = {**window, "by": "queue", "group_by": "day"}
    async with hub.http.get("/api/reports/volume", params=params, headers=boss) as response:
        series = await response.json()
    assert series["source"] == "record"  # business seconds are folded from the record
    first = next(row for row in series["items"] if row["key"] == "billing")
    assert first["first_response"] == spread(1, 0.0, 0.0, 0.0)
