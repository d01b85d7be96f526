"""The web chat on one hub: idle sockets, visitors chatting, and a SIGKILL mid-chat.

    .venv/bin/python -m bench.chat_bench --idle 5000 --visitors 500 --crash-visitors 200

`contacthub serve` (SQLite, WAL, synchronous=FULL) runs in its own process with the chat on
(limits raised for one client address); the visitors are WebSockets from this process.

1. Idle. `--idle` visitors connect and say hello, then nothing: the hub's resident memory
   before and after (/proc/PID/status VmRSS) gives the memory per socket, and its CPU time
   over `--idle-seconds` of silence (heartbeat pings included) the CPU at idle.
2. Chatting. `--visitors` visitors send `--messages` messages each, all at once, each
   waiting for its ack: message -> ack p50/p99. Then an agent replies to `--replies` of
   their tickets through the API: reply request -> frame on the visitor's socket p99.
3. Crash. `--crash-visitors` visitors send messages in a loop the way the widget does
   (a message stays in the outbox until acked, and is resent with the same client_id after
   a drop); the hub is killed with SIGKILL after `--crash-after` seconds and started again
   on the same port and file. At the end every acknowledged message must be stored, and no
   client_id twice: lost and duplicates are counted from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.support import free_port
from bench.webhook_bench import wait_ready
from core.model import Role
from hub.tokens import digest, new_secret
from storage.base import open_store

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_DROPPED = (aiohttp.ClientError, aiohttp.WSMessageTypeError, TimeoutError, RuntimeError, ValueError)
"""What a visitor's socket meets when the hub dies under it: the widget connects again."""


def hub_config(workdir: Path, port: int) -> Path:
    config = workdir / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{workdir / "bench.db"}"\n'
        "[channels.webchat]\nsockets_per_ip = 100000\nmessages_per_minute = 10000\n"
        '[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


@dataclass
class Hub:
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--workers",
            "1",
            "--config",
            str(self.config),
        ]
        self.process = await asyncio.to_thread(subprocess.Popen, command, stdout=subprocess.DEVNULL)
        await asyncio.to_thread(wait_ready, self.port, self.process)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / CLOCK_TICKS

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the hub is not running")
        return self.process.pid


async def hello(http: aiohttp.ClientSession, session: str = "") -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect("/chat/ws", heartbeat=None)
    await ws.send_json({"type": "hello", "visitor": {"name": "V", "session": session}})
    welcome = await ws.receive_json(timeout=30)
    if welcome["type"] != "welcome":
        raise RuntimeError(f"no welcome: {welcome}")
    return ws


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def idle(http: aiohttp.ClientSession, hub: Hub, args: argparse.Namespace) -> None:
    before = hub.rss_kib()
    sockets = []
    for start in range(0, args.idle, 250):  # in batches, as visitors arrive
        batch = range(start, min(args.idle, start + 250))
        sockets += await asyncio.gather(*(hello(http) for _ in batch))
    await asyncio.sleep(1)
    after = hub.rss_kib()
    cpu_before, at = hub.cpu_seconds(), time.monotonic()
    await asyncio.sleep(args.idle_seconds)
    cpu = (hub.cpu_seconds() - cpu_before) / (time.monotonic() - at) * 100
    print(f"idle: {len(sockets)} sockets; hub RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB, "
          f"{(after - before) / len(sockets):.1f} KiB a socket; CPU at idle {cpu:.1f}% "
          f"over {args.idle_seconds} s")  # fmt: skip
    await asyncio.gather(*(ws.close() for ws in sockets))


async def chatting(http: aiohttp.ClientSession, token: str, args: argparse.Namespace) -> None:
    sockets = await asyncio.gather(*(hello(http) for _ in range(args.visitors)))
    acks: list[float] = []
    tickets = await asyncio.gather(
        *(_send(ws, n, args.messages, acks) for n, ws in enumerate(sockets))
    )
    print(f"chatting: {args.visitors} visitors x {args.messages} messages at once: "
          f"message -> ack ms p50 {percentile(acks, 0.5):.1f}  p99 {percentile(acks, 0.99):.1f}  "
          f"mean {statistics.fmean(acks):.1f}")  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    pairs = list(zip(sockets, tickets, strict=True))[: args.replies]
    latencies = await asyncio.gather(*(_reply(http, auth, ws, t) for ws, t in pairs))
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"agent reply -> visitor ms ({len(latencies)} replies at once): "
          f"p50 {p50:.1f}  p99 {p99:.1f}")  # fmt: skip
    await asyncio.gather(*(ws.close() for ws in sockets))


async def _send(ws: aiohttp.ClientWebSocketResponse, n: int, count: int, acks: list[float]) -> int:
    ticket = 0
    for m in range(count):
        sent = time.perf_counter()
        await ws.send_json({"type": "message", "client_id": f"v{n}-m{m}", "text": f"message {m}"})
        frame = await ws.receive_json(timeout=60)
        if frame["type"] != "ack":
            raise RuntimeError(f"expected an ack: {frame}")
        acks.append((time.perf_counter() - sent) * 1000)
        ticket = frame["ticket_id"]
    return ticket


async def _reply(
    http: aiohttp.ClientSession, auth: dict[str, str], ws: aiohttp.ClientWebSocketResponse,
    ticket: int,
) -> float:  # fmt: skip
    sent = time.perf_counter()
    async with http.post(f"/api/tickets/{ticket}/reply", json={"body": "hi"}, headers=auth) as r:
        if r.status != 201:
            raise RuntimeError(await r.text())
    frame = await ws.receive_json(timeout=60)
    if frame["type"] != "message":
        raise RuntimeError(f"expected the reply: {frame}")
    return (time.perf_counter() - sent) * 1000


@dataclass
class Widget:
    """One visitor as the widget behaves: an outbox resent with its client_ids until acked."""

    n: int
    acked: set[str] = field(default_factory=set)
    session: str = ""

    async def run(self, base: str, until: float) -> None:
        sent = 0
        async with aiohttp.ClientSession(base) as http:
            while time.monotonic() < until:
                client_id = f"w{self.n}-{sent}"
                await self._until_acked(http, client_id, until + 30)
                sent += 1

    async def _until_acked(
        self, http: aiohttp.ClientSession, client_id: str, give_up: float
    ) -> None:
        while time.monotonic() < give_up:
            with contextlib.suppress(*_DROPPED):
                ws = await hello(http, self.session)
                try:
                    await ws.send_json({"type": "message", "client_id": client_id, "text": "hi"})
                    frame: dict[str, Any] = await ws.receive_json(timeout=10)
                finally:
                    await ws.close()
                if frame["type"] == "ack":
                    self.acked.add(client_id)
                    return
            await asyncio.sleep(0.2)  # the widget's backoff, shortened

    async def learn_session(self, base: str) -> None:
        async with aiohttp.ClientSession(base) as http:
            ws = await http.ws_connect("/chat/ws")
            await ws.send_json({"type": "hello", "visitor": {}})
            self.session = (await ws.receive_json(timeout=30))["session"]
            await ws.close()


async def crash(hub: Hub, args: argparse.Namespace, db: Path) -> None:
    base = f"http://127.0.0.1:{hub.port}"
    widgets = [Widget(n) for n in range(args.crash_visitors)]
    await asyncio.gather(*(w.learn_session(base) for w in widgets))
    until = time.monotonic() + args.crash_after * 2
    running = asyncio.gather(*(w.run(base, until) for w in widgets))
    await asyncio.sleep(args.crash_after)
    acked_before = sum(len(w.acked) for w in widgets)
    hub.kill()
    await hub.start()
    await running
    acked = {(w.n, c) for w in widgets for c in w.acked}
    stored, copies = stored_chat(db)
    lost = sum(1 for _, c in acked if c not in stored)
    print(f"crash: {args.crash_visitors} visitors, SIGKILL after {args.crash_after} s "
          f"({acked_before} acked before it); {len(acked)} acked in all, {len(stored)} stored; "
          f"lost acknowledged: {lost}, duplicates: {copies}")  # fmt: skip


def stored_chat(db: Path) -> tuple[set[str], int]:
    """The chat messages' client_ids in the database, and how many are stored twice."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT external_id, COUNT(*) FROM messages WHERE channel = 'chat' "
            "AND direction = 'inbound' AND external_id LIKE 'w%' GROUP BY sender, external_id"
        ).fetchall()
    return {r[0] for r in rows}, sum(r[1] - 1 for r in rows)


async def agent_token(db: Path) -> str:
    store = open_store(f"sqlite:///{db}")
    await store.open()
    secret = new_secret()
    try:
        await store.add_token("bench-agent", Role.AGENT, digest(secret), datetime.now(UTC))
    finally:
        await store.close()
    return secret


async def run(args: argparse.Namespace, workdir: Path) -> None:
    port = free_port()
    hub = Hub(hub_config(workdir, port), port)
    db = workdir / "bench.db"
    await hub.start()
    try:
        token = await agent_token(db)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as http:
            if args.idle:
                await idle(http, hub, args)
            if args.visitors:
                await chatting(http, token, args)
        if args.crash_visitors:
            await crash(hub, args, db)
    finally:
        hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--idle-seconds", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--crash-visitors", type=int, default=200)
    parser.add_argument("--crash-after", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contacthub-chat-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
