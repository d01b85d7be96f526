"""`GET /api/events` over real HTTP on SQLite and Redis: every committed change in order,
resumed after a dropped connection with no gap and no repeat, filtered by queue and
assignee, a resync named when a client is out of the window, heartbeats and queue depths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.model import Role
from core.people import Presence
from core.record import Actor, EventKind
from hub.api.event_wire import EVENT_NAMES
from hub.api.events import KEEP_PRESENCE_ALIVE, STREAM_SETTINGS, StreamSettings
from hub.app import build_app
from tests.conftest import Hub, MakeSettings
from tests.hub.api.sse import Sse, open_stream
from tests.hub.test_api import submit
from tests.hub.test_working_tickets import patch, routed

StartEventsHub = Callable[..., Awaitable[Hub]]


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def start_events_hub(
    make_settings: MakeSettings, tmp_path: Path
) -> AsyncIterator[StartEventsHub]:
    """Hubs with the routed rules, the stream's settings and presence hook set before start."""
    runners: list[web.AppRunner] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(
        settings: StreamSettings | None = None, keep_alive: Any = None, url: str | None = None
    ) -> Hub:
        storage = {} if url is None else {"storage": {"url": url}}
        app = build_app(routed(make_settings, tmp_path, **storage))
        app[STREAM_SETTINGS] = settings or StreamSettings()
        if keep_alive is not None:
            app[KEEP_PRESENCE_ALIVE] = keep_alive
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        sessions.append(aiohttp.ClientSession(base_url))
        return Hub(app, sessions[-1], base_url)

    yield start
    for session in sessions:
        await session.close()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def hub(start_events_hub: StartEventsHub) -> Hub:
    return await start_events_hub()


def records(events: list[Sse]) -> list[Sse]:
    return [e for e in events if e.id is not None and e.event != "resync"]


async def burst(hub: Hub, ticket_id: int, count: int, pause: float = 0.0) -> None:
    """`count` notes on one ticket through the store, as the API's writes go."""
    for n in range(count):
        await hub.store.add_note(ticket_id, f"note {n}", Actor.agent("ann"), _now())
        if pause:
            await asyncio.sleep(pause)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_contact_is_streamed_as_it_commits(hub: Hub) -> None:
    ann = await hub.token(Role.AGENT, "ann")
    stream = await open_stream(hub.http, ann)
    ticket_id = await submit(hub, "f1", email="ada@example.com", message="I want a refund")
    events = await stream.until(lambda e: e.event == "queue.depth")  # no queue before: none
    named = [(e.event, e.id, e.data.get("kind")) for e in events]
    assert named == [
        ("ticket.created", 1, "created"),
        ("message.created", 2, "message_in"),
        ("queue.depth", None, None),
    ]
    created = events[0].data
    assert created["ticket_id"] == ticket_id
    assert (created["queue"], created["assignee"]) == ("billing", None)
    assert created["detail"] == {"queue": "billing", "priority": "normal", "rule": "billing words"}
    assert created["actor"] == {"kind": "rule", "name": "billing words"}  # as the record API
    depth = events[2].data
    assert (depth["queue"], depth["waiting"], depth["open"]) == ("billing", 1, 1)
    assert depth["longest_wait_seconds"] >= 0
    assert stream.retry == 2000
    stream.close()


async def resume_through_a_drop(writer: Hub, first: Hub, second: Hub) -> None:
    """A client reads part of a burst from `first`, drops, and resumes on `second`."""
    ann = await first.token(Role.AGENT, "ann")
    ticket_id = await submit(writer, "f1", email="ada@example.com", message="hello")
    start = await writer.store.last_event_seq()
    stream = await open_stream(first.http, ann, last_id=start)
    writing = asyncio.create_task(burst(writer, ticket_id, 120, pause=0.002))
    seen = records(await stream.until(lambda e: e.id is not None and e.id >= start + 30))
    stream.close()  # mid-burst
    await asyncio.sleep(0.05)
    again = await open_stream(second.http, ann, last_id=seen[-1].id)
    await writing
    final = await writer.store.last_event_seq()
    seen += records(await again.until(lambda e: e.id == final))
    again.close()
    assert [e.id for e in seen] == list(range(start + 1, final + 1))  # no gap, no repeat
    stored = await writer.store.events_after(start, 1000)
    assert [(e.data["seq"], e.data["kind"]) for e in seen] == [(e.seq, str(e.kind)) for e in stored]


async def test_a_dropped_stream_resumes_mid_burst_without_gap_or_repeat(hub: Hub) -> None:
    await resume_through_a_drop(hub, hub, hub)


@pytest.mark.parametrize("db_url", ["redis"], indirect=True)
@pytest.mark.parametrize("resume_on", ["a", "b"])
async def test_two_hubs_on_one_redis_stream_what_the_other_commits(
    start_events_hub: StartEventsHub, resume_on: str
) -> None:
    """Hub B commits the burst; the client reads it from hub A, drops, resumes on hub A
    again or on hub B."""
    hub_a, hub_b = await start_events_hub(), await start_events_hub()
    await resume_through_a_drop(hub_b, hub_a, hub_a if resume_on == "a" else hub_b)


async def test_a_slow_client_loses_nothing_when_its_inbox_overflows(
    start_events_hub: StartEventsHub,
) -> None:
    hub = await start_events_hub(StreamSettings(inbox_size=1))
    ann = await hub.token(Role.AGENT, "ann")
    ticket_id = await submit(hub, "f1", email="ada@example.com", message="hello")
    stream = await open_stream(hub.http, ann, last_id=0)
    await asyncio.gather(*[burst(hub, ticket_id, 20, pause=0.001) for _ in range(20)])
    final = await hub.store.last_event_seq()
    seen = records(await stream.until(lambda e: e.id == final, within=30))
    assert [e.id for e in seen] == list(range(1, final + 1))
    stream.close()


async def test_a_client_out_of_the_window_is_told_to_resync(
    start_events_hub: StartEventsHub,
) -> None:
    hub = await start_events_hub(StreamSettings(replay_limit=3))
    ann = await hub.token(Role.AGENT, "ann")
    ticket_id = await submit(hub, "f1", email="ada@example.com", message="hello")
    await burst(hub, ticket_id, 4)  # seq 3..6
    for last_id, reason in [(1, "older than the retention window"), (99, "ahead")]:
        latest = await hub.store.last_event_seq()
        stream = await open_stream(hub.http, ann, last_id=last_id)
        resync = await stream.next()
        assert (resync.event, resync.id) == ("resync", latest)
        assert resync.data == {"last_event_id": last_id, "resume_from": latest,
                               "reason": resync.data["reason"]}  # fmt: skip
        assert reason in resync.data["reason"]
        await burst(hub, ticket_id, 1)
        after = records(await stream.until(lambda e: e.id is not None))
        assert [e.id for e in after] == [latest + 1]
        stream.close()
    within = await open_stream(hub.http, ann, last_id=5)  # 3 behind: inside the window
    assert [e.id for e in records(await within.until(lambda e: e.id == 8))] == [6, 7, 8]
    within.close()


async def test_filters_pass_only_the_queue_or_the_agents_tickets(hub: Hub) -> None:
    ann = await hub.token(Role.AGENT, "ann")
    billing = await open_stream(hub.http, ann, "?queue=billing")
    mine = await open_stream(hub.http, ann, "?assignee=me")
    general_id = await submit(hub, "f1", email="ada@example.com", message="hello")
    billing_id = await submit(hub, "f2", email="bob@example.com", message="a refund")
    assert (await patch(hub, billing_id, ann, assignee="ann"))[0] == 200
    await hub.store.add_note(general_id, "x", Actor.agent("ann"), _now())
    last = await hub.store.last_event_seq()
    done = await hub.store.add_note(billing_id, "last", Actor.agent("ann"), _now())
    in_billing = records(await billing.until(lambda e: e.id == done.seq))
    assert {e.data["ticket_id"] for e in in_billing} == {billing_id}
    assert {e.data["queue"] for e in in_billing} == {"billing"}
    for_ann = records(await mine.until(lambda e: e.id == done.seq))
    assert [e.data["kind"] for e in for_ann] == ["assigned", "note"]
    assert for_ann[-1].id == last + 1
    billing.close()
    mine.close()


async def test_an_idle_stream_has_heartbeats_that_keep_presence_alive(
    start_events_hub: StartEventsHub,
) -> None:
    kept: list[str] = []

    async def keep_alive(name: str) -> None:
        kept.append(name)

    hub = await start_events_hub(StreamSettings(heartbeat=0.1), keep_alive)
    stream = await open_stream(hub.http, await hub.token(Role.AGENT, "ann"))
    await asyncio.sleep(0.5)
    ticket_id = await submit(hub, "f1", email="ada@example.com", message="hello")
    await stream.until(lambda e: e.data.get("ticket_id") == ticket_id)
    assert stream.comments.count("heartbeat") >= 2
    assert kept[:3] == ["ann"] * 3  # on opening, then at each heartbeat
    stream.close()


@pytest.mark.parametrize(
    ("query", "headers", "reason"),
    [
        ("?since=3", {}, "unknown parameter 'since'"),
        ("?last_event_id=x", {}, "Last-Event-ID must be a whole number"),
        ("", {"Last-Event-ID": "-4"}, "Last-Event-ID must be a whole number"),
    ],
    ids=["unknown-parameter", "bad-query-id", "bad-header-id"],
)
async def test_bad_requests_are_refused_with_a_reason(
    hub: Hub, query: str, headers: dict[str, str], reason: str
) -> None:
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.get(f"/api/events{query}", headers={**auth, **headers}) as response:
        assert response.status == 400
        assert reason in (await response.json())["error"]


def test_every_kind_of_event_has_a_name_of_the_product() -> None:
    names = {EVENT_NAMES.get(kind, "ticket.updated") for kind in EventKind}
    assert names <= {
        "ticket.created", "ticket.updated", "message.created", "message.updated",
        "offer.created", "offer.expired", "offer.rejected", "offer.withdrawn", "sla.warning",
        "sla.breached", "ticket.purged",
    }  # fmt: skip
    assert EVENT_NAMES[EventKind.SLA_BREACH] == "sla.breached"


async def test_open_streams_end_when_the_hub_shuts_down(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    app = build_app(routed(make_settings, tmp_path))
    runner = web.AppRunner(app, access_log=None)  # the default grace: the streams must end
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    async with aiohttp.ClientSession(base_url) as http:
        hub = Hub(app, http, base_url)
        stream = await open_stream(http, await hub.token(Role.AGENT, "ann"))
        started = asyncio.get_running_loop().time()
        await runner.cleanup()
        assert asyncio.get_running_loop().time() - started < 5
        with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
            await stream.next(within=2)


async def test_a_filtered_slow_stream_gets_exactly_its_queues_events(
    start_events_hub: StartEventsHub,
) -> None:
    hub = await start_events_hub(StreamSettings(inbox_size=1))
    ann = await hub.token(Role.AGENT, "ann")
    general = await submit(hub, "f1", email="ada@example.com", message="hello")
    billing = await submit(hub, "f2", email="bob@example.com", message="a refund")
    stream = await open_stream(hub.http, ann, "?queue=billing", last_id=0)
    await asyncio.gather(
        *[burst(hub, ticket, 10, pause=0.001) for ticket in (general, billing) for _ in range(8)]
    )
    done = await hub.store.add_note(billing, "last", Actor.agent("ann"), _now())
    seen = records(await stream.until(lambda e: e.id == done.seq, within=30))
    stored = [e.seq for e in await hub.store.events_after(0, 1000) if e.ticket_id == billing]
    assert [e.id for e in seen] == stored
    stream.close()


async def test_an_agents_open_stream_is_their_heartbeat(start_events_hub: StartEventsHub) -> None:
    hub = await start_events_hub(StreamSettings(heartbeat=0.1))  # the hub's own keeper
    auth = await hub.token(Role.AGENT, "ann")
    long_ago = datetime.now(UTC) - timedelta(seconds=40)  # within the presence timeout
    await hub.store.set_presence("ann", Presence.AWAY, long_ago)
    stream = await open_stream(hub.http, auth)
    await asyncio.sleep(0.4)
    agent = await hub.store.get_agent("ann")
    assert agent.presence is Presence.AWAY  # kept as it is
    assert agent.seen_at is not None
    assert agent.seen_at > long_ago + timedelta(seconds=30)  # seen now, by the stream
    stream.close()


async def open_crowd(hub: Hub, count: int) -> None:
    """`count` agents' streams opened at once (and a listing asked for meanwhile): every
    stream answers 200 and gets the next contact, the listing is answered too."""
    auths = [await hub.token(Role.AGENT, f"agent{n}") for n in range(count)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(hub.base_url, connector=connector) as http:
        listing = asyncio.create_task(hub.http.get("/api/tickets", headers=auths[0]))
        streams = await asyncio.gather(*(open_stream(http, auth) for auth in auths))
        assert (await listing).status == 200
        ticket_id = await submit(hub, "f1", email="ada@example.com", message="hello")
        for stream in streams:
            created = await stream.until(lambda e: e.event == "ticket.created", within=30)
            assert created[-1].data["ticket_id"] == ticket_id
            stream.close()


@pytest.mark.parametrize("db_url", ["redis"], indirect=True)
async def test_two_hundred_streams_opened_at_once_share_a_small_pool(
    start_events_hub: StartEventsHub, db_url: str
) -> None:
    """200 streams on 8 connections (as 1,000 would be on the default 64): they wait for a
    connection instead of being refused, and an idle stream holds none."""
    await open_crowd(await start_events_hub(url=f"{db_url}?max_connections=8"), 200)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "redis"], indirect=True)
async def test_a_thousand_streams_opened_at_once_all_stream(
    start_events_hub: StartEventsHub,
) -> None:
    await open_crowd(await start_events_hub(), 1000)


async def test_a_queue_nobody_has_is_404_and_a_campaigns_queue_streams(hub: Hub) -> None:
    """A typo in `queue` would stream nothing, forever; a campaign's queue the rules do not
    name is watched before its first call lands."""
    auth = await hub.token(Role.SUPERVISOR, "sue")
    async with hub.http.get("/api/events?queue=bilingg", headers=auth) as response:
        assert response.status == 404
        assert (await response.json())["error"] == "no queue 'bilingg'"
    outbound = await hub.token(Role.OUTBOUND, "otto")
    campaign = {"name": "renewals", "queue": "renewals"}
    async with hub.http.post("/api/campaigns", json=campaign, headers=outbound) as response:
        assert response.status == 201, await response.text()
    (await open_stream(hub.http, auth, "?queue=renewals")).close()  # 200, text/event-stream
