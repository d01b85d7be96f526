"""A ticket's SLA clocks in its JSON, computed from its record on read, over real HTTP against
the real app on SQLite and on Redis: due in the queue's business hours, warning, breached,
paused while pending; and the first due time `rules test` shows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.test_api import submit
from tests.support import FORM_SECRET

RULES = """
calendars:
  always: {timezone: UTC, weekly: {mon-sun: "00:00-24:00"}}
  office: {timezone: America/New_York, weekly: {mon-fri: "09:00-17:00"}}
queues:
  general: {calendar: always, sla: {first_response: 1h, resolution: 8h}}
  office: {calendar: office, sla: {first_response: 4h}}
rules:
  - name: office words
    when: {body: {contains: office}}
    then: {queue: office}
default: {queue: general}
"""


class Clock:
    """The app's clock: the real time, moved on by the test."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, clock: Clock
) -> Hub:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = make_settings(
        routing={"rules": str(rules), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}},
    )
    return await start_hub(settings, clock=clock)


async def ticket(hub: Hub, ticket_id: int) -> dict[str, Any]:
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=auth) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_new_ticket_has_running_clocks_due_after_their_targets(
    hub: Hub, clock: Clock
) -> None:
    ticket_id = await submit(hub, "sla-1")
    sla = (await ticket(hub, ticket_id))["sla"]
    created = instant(sla["first_response_due"]) - timedelta(hours=1)
    assert sla["first_response"]["state"] == "active"
    assert instant(sla["first_response"]["due_at"]) == created + timedelta(hours=1)
    assert instant(sla["resolution"]["due_at"]) == created + timedelta(hours=8)
    assert 0 <= sla["first_response"]["business_seconds"] < 60
    assert "next_response" not in sla  # the queue sets no such target


@pytest.mark.parametrize(
    ("ahead", "state"),
    [(timedelta(minutes=50), "warning"), (timedelta(hours=2), "breached")],
    ids=["warns-at-75pc", "breaches-after-the-target"],
)
async def test_a_clock_read_later_warns_then_breaches(
    hub: Hub, clock: Clock, ahead: timedelta, state: str
) -> None:
    ticket_id = await submit(hub, "sla-2")
    clock.ahead = ahead
    first = (await ticket(hub, ticket_id))["sla"]["first_response"]
    assert first["state"] == state
    assert first["business_seconds"] >= ahead.total_seconds() - 60


async def test_pending_pauses_the_clock_and_the_change_answers_with_it(
    hub: Hub, clock: Clock
) -> None:
    ticket_id = await submit(hub, "sla-3")
    auth = await hub.token(Role.AGENT, "ann")
    path = f"/api/tickets/{ticket_id}"
    async with hub.http.patch(path, json={"status": "pending"}, headers=auth) as response:
        assert response.status == 200
        assert (await response.json())["sla"]["resolution"]["state"] == "paused"
    clock.ahead = timedelta(hours=10)  # past every target, but paused all along
    sla = (await ticket(hub, ticket_id))["sla"]
    assert (sla["resolution"]["state"], sla["resolution"]["due_at"]) == ("paused", None)
    assert sla["resolution"]["business_seconds"] < 60


async def test_a_contact_outside_office_hours_is_due_inside_them(hub: Hub) -> None:
    ticket_id = await submit(hub, "sla-4", message="a question for the office")
    body = await ticket(hub, ticket_id)
    assert body["queue"] == "office"
    due = instant(body["sla"]["first_response"]["due_at"]).astimezone(ZoneInfo("America/New_York"))
    assert due.weekday() < 5
    assert 9 * 3600 < due.hour * 3600 + due.minute * 60 + due.second <= 17 * 3600
    assert body["sla"]["first_response_due"] == body["sla"]["first_response"]["due_at"]


async def test_rules_test_shows_the_first_due_time(hub: Hub) -> None:
    auth = await hub.token(Role.SUPERVISOR, "sue")
    probe = {"channel": "email", "from": "ada@example.com", "text": "hello"}
    async with hub.http.post("/api/rules/test", json=probe, headers=auth) as response:
        assert response.status == 200
        routed = await response.json()
    assert routed["sla"]["first_response"] == "1h"
    assert routed["sla"]["first_response_due"] is not None


async def listing(hub: Hub, query: str) -> tuple[int, dict[str, Any]]:
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.get(f"/api/tickets?{query}", headers=auth) as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def test_an_unknown_sla_filter_is_refused(hub: Hub) -> None:
    status, body = await listing(hub, "sla=late")
    assert status == 400
    assert body["error"] == "sla must be one of at_risk, breached"


async def test_listed_tickets_carry_the_clocks_the_ticket_shows(hub: Hub, clock: Clock) -> None:
    ticket_id = await submit(hub, "sla-5")
    clock.ahead = timedelta(minutes=50)  # past the warning, nothing recorded yet
    status, page = await listing(hub, "queue=general")
    assert status == 200
    listed = next(item for item in page["items"] if item["id"] == ticket_id)["sla"]
    shown = (await ticket(hub, ticket_id))["sla"]
    for metric in ("first_response", "resolution"):
        assert listed[metric]["state"] == shown[metric]["state"]
        assert listed[metric]["due_at"] == shown[metric]["due_at"]
        assert listed[metric]["business_seconds"] == pytest.approx(
            shown[metric]["business_seconds"], abs=2
        )
    assert listed["first_response"]["state"] == "warning"
    assert listed["standing"] == shown["standing"] == "at_risk"


async def gauge(hub: Hub) -> str:
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    return next(line for line in text.splitlines() if line.startswith("contacthub_sla_at_risk{"))


async def test_tickets_at_risk_are_listed_and_gauged_until_paused(hub: Hub, clock: Clock) -> None:
    ticket_id = await submit(hub, "sla-6")
    clock.ahead = timedelta(minutes=50)
    for _ in range(50):  # the watcher records the warning within a second or two
        _, page = await listing(hub, "sla=at_risk")
        if page["items"]:
            break
        await asyncio.sleep(0.1)
    assert [item["id"] for item in page["items"]] == [ticket_id]
    assert (await listing(hub, "sla=breached"))[1]["items"] == []
    assert await gauge(hub) == 'contacthub_sla_at_risk{queue="general"} 1.0'
    auth = await hub.token(Role.AGENT, "ann")
    path = f"/api/tickets/{ticket_id}"
    async with hub.http.patch(path, json={"status": "pending"}, headers=auth) as response:
        assert response.status == 200
    assert (await listing(hub, "sla=at_risk"))[1]["items"] == []  # in the change's commit
    assert await gauge(hub) == 'contacthub_sla_at_risk{queue="general"} 0.0'
