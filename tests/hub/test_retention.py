"""Retention and erasure at the hub, on SQLite and Redis: the sweeper purges what is due with
its orphaned attachment files, one hub per interval; `POST /api/customers/{id}/erase` and
`contacthub customer erase` erase a customer and print a receipt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.customers import CustomerChange
from core.errors import ConfigError
from core.model import Attachment, Role, Status, ThreadPolicy, TicketChange, TicketFilter
from hub.desk.retention import Sweeper
from hub.settings.retention import RetentionSettings
from hub.settings.tree import parse_settings
from storage.base import Store, open_store
from storage.blobs import BlobStore
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.api.sse import open_stream
from tests.hub.serving import write_config
from tests.hub.test_cli import run
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
WEEK = RetentionSettings(closed_after_days=7, batch=2)
HUB_CLOCK = later(60 * 24 * 30)  # thirty days after the tickets


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = open_store(db_url)
    await opened.open()
    yield opened
    await opened.close()


async def contact(store: Store, key: str, sender: str, *blobs: str, minute: float = 0) -> int:
    attachments = tuple(Attachment(f"{key}.bin", "application/pdf", 3, sha) for sha in blobs)
    message = inbound(key, sender, at=later(minute), attachments=attachments)
    return (await store.commit_inbound(message, RecordingRouter(), NO_WINDOW)).ticket_id


async def closed(store: Store, ticket_id: int, minute: float = 1) -> int:
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(minute))
    return ticket_id


async def test_the_sweeper_purges_due_tickets_in_batches_and_their_orphaned_files(
    store: Store, tmp_path: Path
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    own, shared = blobs.put(b"own bytes"), blobs.put(b"shared bytes")
    due = [
        await closed(store, await contact(store, f"d{i}", f"email:d{i}@example.com", own, shared))
        for i in range(3)
    ]
    live = await contact(store, "live", "email:live@example.com", shared)
    recent = await contact(store, "recent", "email:r@example.com", minute=60 * 24 * 29)
    await closed(store, recent, 60 * 24 * 29)
    sweeper = Sweeper(store, blobs, WEEK, lambda: HUB_CLOCK)

    assert await sweeper.sweep() == len(due)

    for ticket_id in due:
        assert (await store.ticket_events(ticket_id))[-1].kind == "purged"
    assert {t.id for t in (await store.list_tickets(TicketFilter())).items} == {live, recent}
    assert not blobs.exists(own)
    assert blobs.exists(shared)  # the live ticket still refers to it


async def test_one_hub_sweeps_per_interval(db_url: str, store: Store, tmp_path: Path) -> None:
    other_hub = open_store(db_url)
    await other_hub.open()
    try:
        blobs = BlobStore(tmp_path / "blobs")
        first = await closed(store, await contact(store, "a", "email:a@example.com"))
        now = [HUB_CLOCK]
        one = Sweeper(store, blobs, WEEK, lambda: now[0])
        two = Sweeper(other_hub, blobs, WEEK, lambda: now[0])
        assert await one.sweep() == 1
        second = await closed(store, await contact(store, "b", "email:b@example.com"))
        assert await two.sweep() == 0  # this interval's sweep was the other hub's
        assert await one.sweep() == 0
        now[0] += WEEK.interval
        assert await two.sweep() == 1
        assert (await store.ticket_events(first))[-1].kind == "purged"
        assert (await store.ticket_events(second))[-1].kind == "purged"
    finally:
        await other_hub.close()


async def test_a_hub_with_retention_sweeps_on_its_own(
    start_hub: StartHub, make_settings: MakeSettings, db_url: str
) -> None:
    seed = open_store(db_url)
    await seed.open()
    old = await closed(seed, await contact(seed, "old", "email:old@example.com"))
    await seed.close()
    settings = make_settings(retention={"closed_after_days": 7, "interval": "1h"})
    hub = await start_hub(settings, clock=lambda: HUB_CLOCK)
    auth = await hub.token(Role.AGENT)
    for _ in range(100):
        async with hub.http.get(f"/api/tickets/{old}", headers=auth) as response:
            if response.status == 404:
                break
        await asyncio.sleep(0.05)
    assert response.status == 404
    async with hub.http.get(f"/api/tickets/{old}/events", headers=auth) as response:
        record = await response.json()
    assert record["items"][-1]["kind"] == "purged"


async def erase_call(hub: Hub, customer: int, role: Role, **kwargs: Any) -> tuple[int, Any]:
    auth = await hub.token(role, name=f"{role}-1")
    path = f"/api/customers/{customer}/erase"
    async with hub.http.post(path, headers=auth, **kwargs) as response:
        return response.status, await response.json()


async def test_an_admin_erases_a_customer_over_the_api(hub: Hub) -> None:
    ticket_id = await contact(hub.store, "z1", "email:zed@example.org")
    customer = (await hub.store.get_ticket(ticket_id)).customer_id
    await hub.store.update_customer(customer, CustomerChange(name="Zed Quux"))

    assert (await erase_call(hub, customer, Role.AGENT))[0] == 403
    assert (await erase_call(hub, 404, Role.ADMIN))[0] == 404
    assert (await erase_call(hub, 10**30, Role.ADMIN))[0] == 400
    assert (await erase_call(hub, customer, Role.ADMIN, json={"why": 1}))[0] == 400
    status, receipt = await erase_call(hub, customer, Role.ADMIN)

    assert status == 200
    assert receipt["customer_id"] == customer
    assert (receipt["identities"], receipt["tickets"], receipt["messages"]) == (1, [ticket_id], 1)
    erased = await hub.store.get_customer(customer)
    assert (erased.name, erased.identities) == ("", ())
    assert receipt["closed"] == [ticket_id]  # it was new: nothing left on it to work on
    record = await hub.store.ticket_events(ticket_id)
    assert [(e.kind, str(e.actor)) for e in record[-2:]] == [
        ("customer_erased", "agent:admin-1"), ("status", "agent:admin-1"),
    ]  # fmt: skip


async def test_the_erase_command_prints_a_receipt(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    await store.open()
    ticket_id = await contact(store, "z1", "email:zed@example.org")
    customer = (await store.get_ticket(ticket_id)).customer_id
    await store.close()

    refused = run("customer", "erase", str(customer), "--config", str(config))
    assert refused.returncode == 1  # no confirmation on stdin: nothing erased
    huge = run("customer", "erase", "9" * 30, "--yes", "--config", str(config))
    assert huge.returncode == 2  # a usage error, never a traceback
    assert "Traceback" not in huge.stderr
    missing = run("customer", "erase", "404", "--yes", "--config", str(config))
    assert missing.returncode == 1
    assert "no customer 404" in missing.stderr
    done = run("customer", "erase", str(customer), "--yes", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"erased customer {customer}" in done.stdout
    assert "identities      1" in done.stdout
    assert f"tickets closed  1 (live work: {ticket_id})" in done.stdout
    again = run("customer", "erase", str(customer), "--yes", "--json", "--config", str(config))
    assert json.loads(again.stdout)["identities"] == 0  # nothing left to erase
    assert json.loads(again.stdout)["closed"] == []


async def test_a_stream_reader_hears_that_a_ticket_was_purged(hub: Hub) -> None:
    old = await closed(hub.store, await contact(hub.store, "old", "email:old@example.com"))
    stream = await open_stream(hub.http, await hub.token(Role.AGENT))
    try:
        await hub.store.purge_closed(later(10), later(10))
        seen = await stream.until(lambda e: e.event == "ticket.purged")
    finally:
        stream.response.close()
    purged = seen[-1].data
    assert (purged["ticket_id"], purged["kind"]) == (old, "purged")
    assert purged["detail"] == {"messages": 1, "attachments": 0}


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ({"closed_after_days": -1}, "retention.closed_after_days"),
        ({"batch": 0}, "retention.batch"),
        ({"interval": "soon"}, "retention.interval"),
        ({"keep": 3}, "retention.keep"),
    ],
    ids=["negative days", "empty batch", "bad interval", "unknown key"],
)
def test_bad_retention_settings_are_refused_with_their_key(
    section: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_settings({"retention": section}, {}, Path())


def test_retention_is_off_by_default() -> None:
    assert parse_settings({}, {}, Path()).retention.closed_after_days == 0


async def test_reports_of_past_periods_do_not_move_when_tickets_are_purged_or_erased(
    hub: Hub,
) -> None:
    store = hub.store
    kept = await contact(store, "k", "email:kept@example.com", minute=0)
    gone = await contact(store, "g", "email:gone@example.com", minute=1)
    await store.append_outbound(gone, "on it", "ann", later(2))
    await store.update_ticket(gone, TicketChange(status=Status.RESOLVED), later(3))
    await closed(store, gone, 4)
    await store.append_outbound(kept, "looking", "ann", later(5))
    auth = await hub.token(Role.SUPERVISOR)
    query = {"from": "2026-11-20", "to": "2026-11-30", "tz": "UTC"}

    async def report() -> tuple[Any, Any]:
        figures = []
        for path in ("/api/reports/summary", "/api/reports/volume"):
            async with hub.http.get(path, headers=auth, params=query) as response:
                assert response.status == 200
                figures.append(await response.json())
        return figures[0], figures[1]

    before = await report()
    assert (before[0]["created"], before[0]["resolved"]) == (2, 1)
    assert (await store.purge_closed(later(60), later(60))).tickets == (gone,)
    assert await report() == before
    after_the_window = datetime(2026, 12, 1, tzinfo=UTC)  # its live ticket closes then
    await store.erase_customer((await store.get_ticket(kept)).customer_id, "root", after_the_window)
    assert await report() == before
