"""Email through the hub's SMTP listener into SQLite, against an aiosmtpd no-op handler.

    .venv/bin/python -m bench.email_bench [--seconds 10] [--connections 32]

Starts, one after the other, an aiosmtpd server whose handler answers 250 at once and
`contacthub serve` with the SMTP listener (SQLite, WAL, synchronous=FULL), each pinned to
one core, and drives each from the other core with the same client: `--connections`
persistent SMTP sessions, each sending unique ~2 KB messages (four whole transactions
pipelined per write) as fast as the 250s come back. Prints messages/s and latency, the ratio
hub/no-op, what the hub stored (every 250 exactly once), and the MIME parse rate over the
email corpus (contacthub's parser against `email.message_from_bytes` with policy.default).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.support import free_port
from channels.email.mime import parse_email

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "tests" / "data" / "email"
SUPPORT = "support@hub.example"
DEPTH = 4  # transactions pipelined per write on each connection
BODY = (
    "Hello,\r\n\r\nI ordered the blue kettle (order 1042) two weeks ago and it has not arrived.\r\n"
    "The tracking page has said 'label created' since the 3rd. Could you check with the\r\n"
    "carrier, or send a replacement? I need it before the weekend.\r\n\r\n"
    * 6
    + "Thanks,\r\nAda\r\n"
)


def message(connection: str, number: int) -> bytes:
    sender = f"customer{(hash(connection) + number) % 5000}@example.com"
    return (
        f"From: Customer <{sender}>\r\nTo: {SUPPORT}\r\nSubject: Where is my order?\r\n"
        f"Message-ID: <bench.{connection}.{number}@example.com>\r\n"
        "Date: Mon, 23 Nov 2026 15:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + BODY + ".\r\n"
    ).encode()


@dataclass
class Load:
    accepted: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)


async def _reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if line[3:4] != b"-":
            return line


async def _session(port: int, run: str, connection: int, deadline: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _reply(reader)
    writer.write(b"EHLO bench.example\r\n")
    await _reply(reader)
    envelope = f"MAIL FROM:<c{connection}@example.com>\r\nRCPT TO:<{SUPPORT}>\r\nDATA\r\n".encode()
    number = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        # DEPTH whole transactions per write (aiosmtpd reads each content after its 354 from
        # what is already buffered): the client's own cost per message stays small
        writer.write(
            b"".join(envelope + message(f"{run}.{connection}", number + n) for n in range(DEPTH))
        )
        for _ in range(DEPTH):
            for _ in range(3):  # 250 sender, 250 recipient, 354 go ahead
                await _reply(reader)
            answer = await _reply(reader)
            load.latencies.append(time.perf_counter() - started)
            if answer.startswith(b"250"):
                load.accepted += 1
            else:
                load.refused += 1
        number += DEPTH
    writer.write(b"QUIT\r\n")
    writer.close()


@dataclass(frozen=True, slots=True)
class Result:
    load: Load
    elapsed: float
    server_cpu: float  # share of its core the server used


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(port: int, run: str, connections: int, seconds: float, pid: int) -> Result:
    async def go() -> Result:
        load = Load()
        cpu, started = _cpu_seconds(pid), time.perf_counter()
        deadline = started + seconds
        sessions = (_session(port, run, c, deadline, load) for c in range(connections))
        await asyncio.gather(*sessions)
        elapsed = time.perf_counter() - started
        return Result(load, elapsed, (_cpu_seconds(pid) - cpu) / elapsed)

    return asyncio.run(go())


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def measure(command: list[str], port: int, args: argparse.Namespace) -> Result:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(process.pid, {0})  # the server on one core, the client on the other
        wait_listening(port, process)
        drive(port, "warm", 4, 0.5, process.pid)  # imports, first connections, SQLite pages
        return drive(port, "run", args.connections, args.seconds, process.pid)
    finally:
        process.terminate()
        process.wait()


def noop_server(port: int) -> None:
    """An aiosmtpd server that accepts every message at once (the bare stack)."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Noop:
        async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
            self, server: SMTP, session: Session, envelope: Envelope
        ) -> str:
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Noop(), enable_SMTPUTF8=True), "127.0.0.1", port
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def hub_config(workdir: Path, smtp: int) -> Path:
    query = os.environ.get("BENCH_DB_QUERY", "")  # e.g. ?synchronous=normal, to compare
    config = workdir / "contacthub.toml"
    config.write_text(
        f"[server]\nport = {free_port()}\n"
        f'[storage]\nurl = "sqlite:///{workdir / "bench.db"}{query}"\n'
        f'blob_dir = "{workdir / "blobs"}"\n[logging]\nlevel = "warning"\n'
        f'[channels.smtp]\nport = {smtp}\nmailboxes = ["{SUPPORT}"]\n',
        encoding="utf-8",
    )
    return config


def parse_rates(rounds: int = 20) -> tuple[int, float, float, float]:
    raws = [path.read_bytes() for path in sorted(CORPUS.rglob("*.eml"))]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in raws:
            parse_email(raw, now).for_mailbox(SUPPORT)
    ours = len(raws) * rounds / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in raws:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            _ = message.get_body(("plain", "html"))
    stdlib = len(raws) * rounds / (time.perf_counter() - started)
    return len(raws), sum(map(len, raws)) / len(raws), ours, stdlib


def report(noop: Result, hub: Result, stored: int, warm: int) -> None:
    print(f"{'':26}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'refused':>9}{'server CPU':>12}")
    rates = []
    for name, result in (("aiosmtpd no-op handler", noop), ("contacthub -> SQLite", hub)):
        rate = result.load.accepted / result.elapsed
        rates.append(rate)
        cuts = statistics.quantiles(result.load.latencies, n=100)
        print(f"{name:26}{rate:>9.0f}{cuts[49] * 1000:>9.2f}{cuts[98] * 1000:>9.2f}"
              f"{result.load.refused:>9}{result.server_cpu:>11.0%}")  # fmt: skip
    print(f"ratio hub/no-op: {rates[1] / rates[0]:.2f}  (goal >= 0.5)")
    per_cpu = [rate / max(r.server_cpu, 0.01) for rate, r in zip(rates, (noop, hub), strict=True)]
    print(
        f"per second of server CPU: no-op {per_cpu[0]:.0f} msg, hub {per_cpu[1]:.0f} msg, "
        f"ratio {per_cpu[1] / per_cpu[0]:.2f} (the fair ratio when the client cannot saturate)"
    )
    print(f"stored messages: {stored - warm} of {hub.load.accepted} acknowledged (+{warm} warm-up)")
    count, size, ours, stdlib = parse_rates()
    print(
        f"MIME corpus ({count} messages, {size / 1024:.1f} KB average): contacthub parser "
        f"{ours:.0f} msg/s, email.message_from_bytes(policy.default) + get_body {stdlib:.0f} msg/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--noop-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_server:
        noop_server(args.noop_server)
        return
    os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="contacthub-email-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        noop = measure([sys.executable, "-m", "bench.email_bench", "--noop-server", str(port)],
                       port, args)  # fmt: skip
        port = free_port()
        config = hub_config(workdir, port)
        hub = measure([sys.executable, "-m", "hub.cli", "serve", "--config", str(config)],
                      port, args)  # fmt: skip
        db = sqlite3.connect(workdir / "bench.db")
        stored = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        warm = db.execute(
            "SELECT count(*) FROM messages WHERE external_id LIKE '<bench.warm.%'"
        ).fetchone()[0]
        db.close()
        report(noop, hub, stored, warm)


if __name__ == "__main__":
    main()
