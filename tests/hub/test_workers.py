"""`contacthub serve --workers N`: real processes sharing real ports on one SQLite file.

Both workers take connections on the HTTP and the SMTP port (SO_REUSEPORT), every contact
acknowledged is stored once with no "database is locked", SIGTERM stops them all cleanly,
and a worker that dies takes the hub down whole (exit 1) rather than leaving half of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.cli.workers import OWNER_FILE, RUN_PREFIX, sweep_orphans
from hub.wiring.webchat_siblings import DIRECTORY_ENV
from tests.hub.email_support import SUPPORT, compose, send
from tests.hub.serving import cli, environment, wait_ready
from tests.support import form_body, form_headers, free_port

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as stderr:
        return subprocess.Popen(
            cli("serve", "--config", str(config), "--workers", "2"),
            env=environment(), stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip


def listening(pid: int, port: int) -> bool:
    """Whether process `pid` holds a socket listening on `port` (from /proc): a worker that
    has not bound it yet gets none of the kernel's connections."""
    listeners = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                    listeners.add(f"socket:[{fields[9]}]")
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            held.add(os.readlink(fd))
    return bool(listeners & held)


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int, smtp: int, db: Path) -> None:
        self.process, self.port, self.smtp, self.db = process, port, smtp, db
        self.config = db.parent / "contacthub.toml"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    port, smtp = free_port(), free_port()
    config = tmp_path / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        f'blob_dir = "{tmp_path / "blobs"}"\n'
        '[channels.webform]\nsecret = "env:FORM_SECRET"\n[logging]\nlevel = "warning"\n'
        f'[channels.smtp]\nport = {smtp}\nmailboxes = ["{SUPPORT}"]\n'
        '[channels.webchat]\nsecret = "a-chat-secret-0123456789"\n',
        encoding="utf-8",
    )
    created = await asyncio.to_thread(
        subprocess.run,
        cli("token", "create", "--role", "agent", "--name", "jo", "--config", str(config)),
        env=environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    (tmp_path / "agent.token").write_text(created.stdout.strip().splitlines()[-1])
    log = tmp_path / "serve.log"
    process = spawn(config, log)
    try:
        await wait_ready(process, port, log)
        for _ in range(200):  # both workers listening, not only the first
            workers = children(process.pid)
            if len(workers) == 2 and all(listening(pid, port) for pid in workers):
                break
            await asyncio.sleep(0.05)
        assert await _answers(port, 8)
        yield Served(process, port, smtp, tmp_path / "hub.db")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _answers(port: int, times: int) -> bool:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(times):
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                if response.status != 200:
                    return False
    return True


async def post_forms(port: int, count: int) -> list[int]:
    """`count` signed forms, each on a new connection (the kernel picks a worker for each)."""
    connector = aiohttp.TCPConnector(force_close=True, limit=16)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(n: int) -> int:
            body = form_body(f"w-{n}", email=f"c{n}@example.com", message=f"hello {n}")
            url = f"http://127.0.0.1:{port}/webhooks/form"
            async with http.post(url, data=body, headers=form_headers(body)) as response:
                return response.status

        return list(await asyncio.gather(*(one(n) for n in range(count))))


async def test_both_workers_take_http_and_smtp_and_every_contact_is_stored_once(
    served: Served,
) -> None:
    workers = children(served.process.pid)
    assert len(workers) == 2
    before = [cpu_ticks(pid) for pid in workers]
    statuses = await post_forms(served.port, 300)
    for n in range(6):
        await send(served.smtp, compose(f"mail {n}", message_id=f"<w{n}@example.com>"))
    assert statuses == [201] * 300
    assert all(cpu_ticks(pid) > ticks for pid, ticks in zip(workers, before, strict=True))
    db = sqlite3.connect(served.db)
    try:
        counts = dict(db.execute("SELECT channel, count(*) FROM tickets GROUP BY channel"))
        forms = db.execute("SELECT count(DISTINCT dedupe_key), count(*) FROM messages "
                           "WHERE channel = 'form'").fetchone()  # fmt: skip
    finally:
        db.close()
    assert counts == {"form": 300, "email": 6}
    assert forms == (300, 300)
    assert "database is locked" not in (served.db.parent / "serve.log").read_text()
    # Each scrape reaches one worker and says what both did (not that one's share)
    for _ in range(6):
        assert await scraped(served.port, "contacthub_contacts_total", "form") == 300
        assert await scraped(served.port, "contacthub_contacts_total", "email") == 6


async def scraped(port: int, name: str, channel: str) -> float:
    """A counter's value for a channel in one scrape of /metrics, on a new connection."""
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels.get("channel") == channel
    )


async def test_a_chat_reply_reaches_the_visitor_whichever_worker_holds_the_socket(
    served: Served,
) -> None:
    """Each visitor's socket and each reply is a new connection, so the kernel puts some on
    one worker and some on the other: every reply is pushed live all the same (the workers'
    bus), and is `delivered`, not left `sent` for a resume that may never come."""
    token = (served.db.parent / "agent.token").read_text()
    agent = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{served.port}", connector=connector
    ) as http:
        sockets = [await http.ws_connect("/chat/ws") for _ in range(8)]
        tickets = []
        for n, ws in enumerate(sockets):
            await ws.send_json({"type": "hello", "visitor": {"name": f"V{n}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "welcome"
            await ws.send_json({"type": "message", "client_id": "c-1", "text": f"hi {n}"})
            tickets.append((await next_frame(ws, "ack"))["ticket_id"])
        for n, ticket_id in enumerate(tickets):
            url, body = f"/api/tickets/{ticket_id}/reply", {"body": f"answer {n}"}
            async with http.post(url, json=body, headers=agent) as response:
                assert response.status == 201
                assert (await response.json())["delivery"] == "delivered"
        for n, ws in enumerate(sockets):
            assert (await next_frame(ws, "message"))["text"] == f"answer {n}"
            await ws.close()


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = await ws.receive_json(timeout=5)
        if frame["type"] == kind:
            return frame


async def test_sigterm_stops_every_worker_and_the_hub_exits_0(served: Served) -> None:
    workers = children(served.process.pid)
    again = await asyncio.to_thread(
        subprocess.run, cli("serve", "--workers", "2", "--config", str(served.config)),
        env=environment(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 1  # a second hub on its ports: once it took half the requests
    assert again.stderr.strip() == (
        f"Error: HTTP cannot listen on 127.0.0.1:{served.port}: address already in use"
        " (change the setting server.port)"
    )
    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(served.process.wait, 40) == 0
    assert not alive(workers)


async def test_a_worker_that_dies_stops_the_hub_with_exit_1(served: Served) -> None:
    first, second = children(served.process.pid)
    os.kill(second, signal.SIGKILL)
    assert await asyncio.to_thread(served.process.wait, 40) == 1
    assert not alive([first])


async def test_a_hub_killed_outright_takes_its_workers_with_it(served: Served) -> None:
    workers = children(served.process.pid)
    run, owner = run_of(workers[0])
    assert owner == str(served.process.pid)
    served.process.kill()
    served.process.wait()
    for _ in range(100):
        if not alive(workers):
            break
        await asyncio.sleep(0.05)
    assert not alive(workers)
    assert run in sweep_orphans(run.parent)  # what the next supervisor to start does
    assert not await asyncio.to_thread(run.exists)


def run_of(worker: int) -> tuple[Path, str]:
    """The run directory a worker was given, and the supervisor's pid written in it."""
    environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    name = DIRECTORY_ENV.encode() + b"="
    (run,) = [Path(e.removeprefix(name).decode()) for e in environ if e.startswith(name)]
    return run, (run / OWNER_FILE).read_text()


def test_the_next_supervisor_removes_the_directories_of_killed_ones(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])  # a pid that is certainly dead after wait
    gone.wait()
    killed, live, unowned, other = (
        tmp_path / f"{RUN_PREFIX}{name}" for name in ("killed", "live", "unowned", "x")
    )
    for run in (killed, live, unowned):
        (run / "metrics").mkdir(parents=True)
    (killed / OWNER_FILE).write_text(str(gone.pid))
    (live / OWNER_FILE).write_text(str(os.getpid()))
    other.write_text("not a directory")
    assert sweep_orphans(tmp_path) == [killed]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, unowned, other)
    )
