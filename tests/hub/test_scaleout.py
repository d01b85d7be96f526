"""Several hubs on one store: real `contacthub serve` processes, real Redis, real HTTP.

The concurrency promises run on both backends (two processes on one SQLite file stand for
two connections); the faults are Redis's own: stopped and restarted here, SIGKILLed under
load in tests/hub/test_redis_durability.py, hubs SIGKILLed in tests/hub/test_crash.py.
"""

from __future__ import annotations

import asyncio
import smtplib
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from core.model import TicketFilter
from storage.base import open_store
from tests.hub.email_support import SUPPORT, compose, send
from tests.hub.serving import start_serve
from tests.storage.redis_server import RedisServer
from tests.support import form_body, form_headers, free_port

Hubs = Callable[[str], AsyncIterator[list[str]]]


def write_config(directory: Path, url: str, port: int, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "{url}"\n'
        '[threading]\nreopen_window = { form = "24h" }\n'
        '[channels.webform]\nsecret = "env:FORM_SECRET"\n[logging]\nlevel = "warning"\n' + extra,
        encoding="utf-8",
    )
    return config


class Cluster:
    """N hub processes serving one storage URL, each on its own port."""

    def __init__(self, directory: Path, url: str, extra: str = "") -> None:
        self.directory = directory
        self.url = url
        self.extra = extra
        self.processes: list[subprocess.Popen[bytes]] = []
        self.webhooks: list[str] = []

    async def start(self, count: int = 2) -> None:
        for n in range(count):
            port = free_port()
            config = write_config(self.directory / f"hub{n}", self.url, port, self.extra)
            self.processes.append(await start_serve(config, port))
            self.webhooks.append(f"http://127.0.0.1:{port}/webhooks/form")

    def readyz(self, n: int) -> str:
        return self.webhooks[n].replace("/webhooks/form", "/readyz")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=20)


@pytest.fixture(params=["redis", "sqlite"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture
async def two_hubs(tmp_path: Path, shared_url: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path, shared_url)
    try:
        await cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", fsync="always")
    server.start()
    yield server
    server.stop()


async def post(http: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, dict[str, object]]:
    async with http.post(url, data=body, headers=form_headers(body)) as response:
        return response.status, await response.json()


async def test_one_provider_message_at_both_hubs_is_stored_once(two_hubs: Cluster) -> None:
    body = form_body("web-77")
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(
            *(post(http, two_hubs.webhooks[i % 2], body) for i in range(20))
        )
    assert sorted(status for status, _ in answers).count(201) == 1
    assert {status for status, _ in answers} <= {200, 201}
    assert len({answer["ticket_id"] for _, answer in answers}) == 1
    store = open_store(two_hubs.url)
    await store.open()
    try:
        ticket = await store.get_ticket(int(str(answers[0][1]["ticket_id"])))
    finally:
        await store.close()
    assert len(ticket.messages) == 1


async def test_first_contacts_of_one_new_customer_at_both_hubs(two_hubs: Cluster) -> None:
    bodies = [form_body(f"web-{i}", email="grace@example.com") for i in range(12)]
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(
            *(post(http, two_hubs.webhooks[i % 2], body) for i, body in enumerate(bodies))
        )
    assert [status for status, _ in answers].count(201) == 1
    assert len({answer["ticket_id"] for _, answer in answers}) == 1
    store = open_store(two_hubs.url)
    await store.open()
    try:
        (ticket,) = (await store.list_tickets(TicketFilter())).items
        messages = (await store.get_ticket(ticket.id)).messages
    finally:
        await store.close()
    assert len(messages) == 12
    assert ticket.customer_id == 1


async def test_stopped_redis_answers_503_and_451_and_restarted_redis_recovers(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    smtp = free_port()
    listener = f'[channels.smtp]\nport = {smtp}\nmailboxes = ["{SUPPORT}"]\n'
    cluster = Cluster(tmp_path, f"{own_redis.url}?timeout=2", listener)
    await cluster.start(1)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            assert (await post(http, cluster.webhooks[0], form_body("before")))[0] == 201
            own_redis.stop()
            async with http.get(cluster.readyz(0)) as ready:
                assert ready.status == 503
            status, _ = await post(http, cluster.webhooks[0], form_body("during"))
            assert status == 503
            refused = await send(smtp, compose(message_id="<down@example.com>"))
            assert isinstance(refused, smtplib.SMTPResponseException)
            assert refused.smtp_code == 451
            own_redis.start()
            async with http.get(cluster.readyz(0)) as ready:
                assert ready.status == 200
            answer = await post(http, cluster.webhooks[0], form_body("during"))
            assert answer == (200, {"ticket_id": 1, "outcome": "appended"})
            assert await send(smtp, compose(message_id="<down@example.com>")) == 250
            assert (await post(http, cluster.webhooks[0], form_body("before")))[1] == {
                "ticket_id": 1, "outcome": "duplicate",
            }  # fmt: skip
    finally:
        cluster.stop()
    with own_redis.client() as client:
        stored = sorted(client.hkeys("{ch}:dedupe"))
    assert stored[1:] == ["form:before", "form:during"]
    assert stored[0].startswith("email:support@hub.example:<down@example.com>")
