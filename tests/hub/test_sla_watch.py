"""The SLA watcher end to end, on SQLite and on Redis: a breach recorded within 5 s of its
deadline, acted on (escalated, priority, tags) and counted exactly once, with two hubs on
one store and one of them stopped and started again around the deadline.

The warning (at about 1 s) and the breach (3 s) are two watcher rounds apart: a round that
finds the breach already due passes over the warning it makes moot."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from channels.base import utcnow
from core.model import Priority, Status, TicketChange
from core.record import EventKind, TicketEvent
from hub.app import build_app
from hub.settings.tree import Settings
from hub.state import METRICS, STORE
from storage.base import Store, open_store
from tests.conftest import MakeSettings
from tests.support import FORM_SECRET, form_body, form_headers

RULES = """
queues:
  general:
    sla:
      first_response: 3s
      warn_at: 34%
      on_breach: {escalate: true, priority: urgent, tags: [sla-missed]}
  tier2: {tier: 2}
default: {queue: general}
"""


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return make_settings(
        routing={"rules": str(rules), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}},
    )


class Running:
    """One hub on a port, that a test may stop and start again."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    async def start(self) -> None:
        self.app = build_app(self.settings)
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @property
    def url(self) -> str:
        assert self.runner is not None
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    @property
    def store(self) -> Store:
        assert self.app is not None
        return self.app[STORE]

    def breaches(self) -> float:
        assert self.app is not None
        labels = {"queue": "general", "metric": "first_response"}
        found = self.app[METRICS].registry.get_sample_value("contacthub_sla_breaches_total", labels)
        return found or 0.0


async def submit(hub: Running, external_id: str) -> int:
    body = form_body(external_id)
    async with (
        aiohttp.ClientSession(hub.url) as http,
        http.post("/webhooks/form", data=body, headers=form_headers(body)) as response,
    ):
        assert response.status in (200, 201)
        answer: dict[str, Any] = await response.json()
        return int(answer["ticket_id"])


async def sla_events(store: Store, ticket_id: int, seconds: float = 10) -> list[TicketEvent]:
    """The ticket's record once it holds a breach (or after `seconds`)."""
    for _ in range(int(seconds / 0.1)):
        record = await store.ticket_events(ticket_id)
        if any(e.kind is EventKind.SLA_BREACH for e in record):
            await asyncio.sleep(1.5)  # time for a second act, should there be one
            return await store.ticket_events(ticket_id)
        await asyncio.sleep(0.1)
    return await store.ticket_events(ticket_id)


def due_of(record: list[TicketEvent]) -> datetime:
    created = next(e for e in record if e.kind is EventKind.CREATED)
    breach = next(e for e in record if e.kind is EventKind.SLA_BREACH)
    due = datetime.fromisoformat(str(breach.detail["due"]))
    assert (due - created.at).total_seconds() == pytest.approx(3, abs=0.01)
    return due


async def test_a_breach_is_recorded_within_5s_acted_on_and_counted_once(
    settings: Settings,
) -> None:
    hub = Running(settings)
    await hub.start()
    try:
        ticket_id = await submit(hub, "late-1")
        record = await sla_events(hub.store, ticket_id)
        kinds = [e.kind for e in record]
        assert kinds.count(EventKind.SLA_WARNING) == 1
        assert kinds.count(EventKind.SLA_BREACH) == 1
        breach = next(e for e in record if e.kind is EventKind.SLA_BREACH)
        assert 0 <= (breach.at - due_of(record)).total_seconds() <= 5
        assert (str(breach.actor), breach.detail["metric"]) == ("clock:sla", "first_response")
        ticket = await hub.store.get_ticket(ticket_id)
        assert (ticket.queue, ticket.priority, ticket.assignee) == ("tier2", Priority.URGENT, None)
        assert "sla-missed" in ticket.tags
        assert hub.breaches() == 1
    finally:
        await hub.stop()


async def test_two_hubs_one_restarted_around_the_deadline_act_once(settings: Settings) -> None:
    first, second = Running(settings), Running(settings)
    await first.start()
    await second.start()
    try:
        ticket_id = await submit(first, "late-2")
        await asyncio.sleep(2.8)  # just before the deadline
        await first.stop()
        await asyncio.sleep(0.5)
        await first.start()
        record = await sla_events(first.store, ticket_id)
        assert [e.kind for e in record].count(EventKind.SLA_BREACH) == 1
        assert [e.kind for e in record].count(EventKind.QUEUE) == 1  # escalated once
        breach = next(e for e in record if e.kind is EventKind.SLA_BREACH)
        assert (breach.at - due_of(record)).total_seconds() <= 5
        assert first.breaches() + second.breaches() == 1
    finally:
        await first.stop()
        await second.stop()


async def test_a_ticket_closed_after_its_deadline_gets_its_breach_and_no_action(
    settings: Settings,
) -> None:
    """Closed between its deadline and the watcher's write (here: while no hub ran): the
    breach happened and is recorded, counted in the reports; on_breach acts on nothing."""
    hub = Running(settings)
    await hub.start()
    ticket_id = await submit(hub, "late-closed")
    await hub.stop()
    await asyncio.sleep(3.3)  # past its 3 s first-response deadline, unanswered
    store = open_store(settings.storage.url)
    await store.open()
    try:
        await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), utcnow())
    finally:
        await store.close()
    await hub.start()
    try:
        record = await sla_events(hub.store, ticket_id)
        assert [e.kind for e in record].count(EventKind.SLA_BREACH) == 1
        ticket = await hub.store.get_ticket(ticket_id)
        assert (ticket.status, ticket.queue, ticket.priority) == (
            Status.CLOSED, "general", Priority.NORMAL,
        )  # fmt: skip
        assert "sla-missed" not in ticket.tags
        assert record[-1].kind is EventKind.SLA_BREACH  # nothing after it
    finally:
        await hub.stop()
