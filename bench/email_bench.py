"""Email through the hub's SMTP listener into SQLite, against an aiosmtpd no-op handler.

    .venv/bin/python -m bench.email_bench [--seconds 10] [--connections 8] [--profile FILE]
                                          [--relay-without-pipelining] [--no-acknowledgements]
                                          [--helpdesk RUNS]
    .venv/bin/python -m bench.email_bench --sessions 3    # the SMTP sessions alone

Starts, one after the other, an aiosmtpd server whose handler answers 250 at once and
`contacthub serve` with the SMTP listener (SQLite, WAL, synchronous=FULL) and an outbound
relay that acknowledges every new ticket (a no-op aiosmtpd sink on the client's core that
offers PIPELINING, as Postfix and the hosted relays do; `--relay-without-pipelining`: it
does not), each pinned to one core, and drives each from the other core with the same
client: `--connections` persistent SMTP sessions of an ordinary client (one command, then
its answer: no pipelining), each sending the realistic corpus of bench/email_corpus.py
(5.4 KB average: plain, text + HTML, an attachment, replies; new senders) as fast as the
250s come back.
Prints messages/s, latency and server CPU, the ratio hub/no-op, what the hub stored (every
250 exactly once) and how many acknowledgements went out, and the MIME parse rate over the
corpus (contacthub's parser against `email.message_from_bytes` with policy.default).
`--profile FILE` samples the hub with py-spy during the run (collapsed stacks into FILE)
and prints the functions with the most samples, inclusive and own. `--sessions N` measures
only the SMTP sessions, N times in turn: aiosmtpd's own and the hub's listener class (its
DATA reader and address parsing), each with a handler that answers 250 at once.
`--no-acknowledgements` runs the hub without them, to see what they cost.
`--helpdesk RUNS` then measures django-helpdesk's `get_email` on the same corpus on this
machine (bench/helpdesk_baseline.py: its own virtualenv, made once) and prints issue #20's
ratio, by emails/s and per second of CPU.
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
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.email_corpus import SUPPORT, Mail, corpus
from bench.helpdesk_baseline import measure_baseline
from bench.support import free_port
from channels.email.mime import parse_email

HELPDESK_MESSAGES = 400  # a run of django-helpdesk: ~10 s, as long as the hub's
MAILS_PER_CONNECTION = 20_000  # more than any run sends: the corpus is generated lazily


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


def _data(mail: Mail) -> bytes:
    """The message as DATA content: dot-stuffed, ended by the lone dot."""
    return mail.raw.replace(b"\r\n.", b"\r\n..") + b".\r\n"


async def _command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes
                   ) -> bytes:  # fmt: skip
    writer.write(line)
    return await _reply(reader)


async def _session(port: int, run: str, connection: int, deadline: float, load: Load) -> None:
    """An ordinary client: each command waits for its answer (no pipelining)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _reply(reader)
    await _command(reader, writer, b"EHLO bench.example\r\n")
    mails = corpus(f"{run}.{connection}", MAILS_PER_CONNECTION, seed=connection)
    for mail in mails:
        if time.perf_counter() >= deadline:
            break
        started = time.perf_counter()
        await _command(reader, writer, f"MAIL FROM:<{mail.sender}>\r\n".encode())
        await _command(reader, writer, f"RCPT TO:<{SUPPORT}>\r\n".encode())
        await _command(reader, writer, b"DATA\r\n")
        answer = await _command(reader, writer, _data(mail))
        load.latencies.append(time.perf_counter() - started)
        if answer.startswith(b"250"):
            load.accepted += 1
        else:
            load.refused += 1
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
    for _ in range(1200):  # a minute: workers start slowly on a busy machine
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    process.terminate()  # not left behind
    raise SystemExit("server did not start")


def measure(
    command: list[str], port: int, args: argparse.Namespace, profile: Path | None = None
) -> Result:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(process.pid, {0})  # the server on one core, the client on the other
        wait_listening(port, process)
        drive(port, "warm", 4, 0.5, process.pid)  # imports, first connections, SQLite pages
        if profile is None:
            return drive(port, "run", args.connections, args.seconds, process.pid)
        with _sampled(process.pid, profile, args.seconds):
            return drive(port, "run", args.connections, args.seconds, process.pid)
    finally:
        process.terminate()
        process.wait()


class _sampled:  # noqa: N801  # used as a context manager, named as one
    """py-spy sampling a process for the run, only the thread holding the GIL (Python CPU)."""

    def __init__(self, pid: int, target: Path, seconds: float) -> None:
        self.command = ["py-spy", "record", "--format", "raw", "--rate", "250", "--gil",
                        "--nonblocking", "-p", str(pid), "-d", str(int(seconds)),
                        "-o", str(target)]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> None:
        spy = Path(sys.executable).parent / "py-spy"
        self.command[0] = str(spy) if spy.exists() else "py-spy"
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.wait(timeout=60)


def _function(frame: str) -> str:
    """`name (path/file.py:line)` -> `name (file.py)`: samples summed per function."""
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rpartition(':')[0].rpartition('/')[2]})"


def top_entries(profile: Path, count: int = 25) -> list[str]:
    """The functions with the most samples (inclusive: on the stack; own: at its top)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():  # a frame's name with a line break in it
            continue
        frames = [_function(frame) for frame in stack.split(";") if frame]
        weight = int(samples)
        total += weight
        for frame in set(frames):
            inclusive[frame] += weight
        if frames:
            own[frames[-1]] += weight
    rows = [f"{'inclusive':>9} {'own':>6}  function (of {total} samples)"]
    for frame, weight in inclusive.most_common(count):
        rows.append(f"{weight / total:>9.1%} {own[frame] / total:>6.1%}  {frame}")
    rows.append("top own:")
    for frame, weight in own.most_common(count // 2):
        rows.append(f"{weight / total:>16.1%}  {frame}")
    return rows


def noop_server(port: int, *, listener: bool = False, relay: bool = False) -> None:
    """An aiosmtpd server that accepts every message at once (the bare stack); `listener`:
    the hub's own SMTP session class (its DATA reader, its address parsing) in aiosmtpd's;
    `relay`: it offers PIPELINING as the relays a hub sends through do (Postfix, Exim, the
    hosted ones), which aiosmtpd does not say but reads correctly."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    from channels.email.smtp import _ListenerSMTP

    session = _ListenerSMTP if listener else SMTP

    class Noop:
        async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
            self, server: SMTP, session: Session, envelope: Envelope
        ) -> str:
            return "250 OK"

        async def handle_EHLO(  # noqa: N802  # aiosmtpd's hook name
            self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
            responses: list[str],
        ) -> list[str]:  # fmt: skip
            session.host_name = hostname
            return [responses[0], "250-PIPELINING", *responses[1:]] if relay else responses

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: session(Noop(), enable_SMTPUTF8=True), "127.0.0.1", port
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def hub_config(workdir: Path, smtp: int, relay: int, *, acknowledge: bool = True) -> Path:
    query = os.environ.get("BENCH_DB_QUERY", "")  # e.g. ?synchronous=normal, to compare
    config = workdir / "contacthub.toml"
    config.write_text(
        f"[server]\nport = {free_port()}\n"
        f'[storage]\nurl = "sqlite:///{workdir / "bench.db"}{query}"\n'
        f'blob_dir = "{workdir / "blobs"}"\n[logging]\nlevel = "warning"\n'
        f'[channels.smtp]\nport = {smtp}\nmailboxes = ["{SUPPORT}"]\n'
        f"[outbound.smtp]\nport = {relay}\nacknowledge = {str(acknowledge).lower()}\n",
        encoding="utf-8",
    )
    return config


def parse_rates(rounds: int = 5) -> tuple[int, float, float, float]:
    raws = [mail.raw for mail in corpus("parse", 400)]
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


@dataclass(frozen=True, slots=True)
class Stored:
    inbound: int  # messages of the run stored
    distinct: int  # of them with distinct Message-IDs (a 250 stored twice would show)
    acknowledged: int  # acknowledgements sent to the relay


def stored(db_path: Path) -> Stored:
    db = sqlite3.connect(db_path)
    try:
        inbound, distinct = db.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM messages"
            " WHERE direction = 'inbound' AND external_id LIKE '<bench.run.%'"
        ).fetchone()
        acks = db.execute(
            "SELECT count(*) FROM messages WHERE direction = 'outbound' AND delivery = 'sent'"
        ).fetchone()[0]
    finally:
        db.close()
    return Stored(inbound, distinct, acks)


def report(noop: Result, hub: Result, kept: Stored) -> None:
    print(f"{'':26}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'refused':>9}{'server CPU':>12}")
    rates = []
    for name, result in (("aiosmtpd no-op handler", noop), ("contacthub -> SQLite", hub)):
        rate = result.load.accepted / result.elapsed
        rates.append(rate)
        cuts = statistics.quantiles(result.load.latencies, n=100)
        print(f"{name:26}{rate:>9.0f}{cuts[49] * 1000:>9.2f}{cuts[98] * 1000:>9.2f}"
              f"{result.load.refused:>9}{result.server_cpu:>11.0%}")  # fmt: skip
    print(f"ratio hub/no-op: {rates[1] / rates[0]:.2f}")
    per_cpu = [rate / max(r.server_cpu, 0.01) for rate, r in zip(rates, (noop, hub), strict=True)]
    print(
        f"per second of server CPU: no-op {per_cpu[0]:.0f} msg, hub {per_cpu[1]:.0f} msg, "
        f"ratio {per_cpu[1] / per_cpu[0]:.2f}; hub CPU per email "
        f"{1000 / per_cpu[1]:.2f} ms"
    )
    print(f"stored: {kept.inbound} of {hub.load.accepted} acknowledged with 250 "
          f"({kept.distinct} distinct); acknowledgements sent to the relay (run and warm-up): "
          f"{kept.acknowledged}")  # fmt: skip
    count, size, ours, stdlib = parse_rates()
    print(
        f"MIME corpus ({count} messages, {size / 1024:.1f} KB average): contacthub parser "
        f"{ours:.0f} msg/s, email.message_from_bytes(policy.default) + get_body {stdlib:.0f} msg/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--profile", type=Path, help="py-spy's collapsed stacks of the hub")
    parser.add_argument(
        "--sessions", type=int, metavar="ROUNDS",
        help="only the SMTP sessions: aiosmtpd's and the listener's, each with a no-op handler,"
             " alternated ROUNDS times",
    )  # fmt: skip
    parser.add_argument("--noop-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--listener", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--relay", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--relay-without-pipelining", action="store_true",
                        help="the outbound relay does not offer PIPELINING")  # fmt: skip
    parser.add_argument("--no-acknowledgements", action="store_true",
                        help="the hub sends no acknowledgement (what they cost)")  # fmt: skip
    parser.add_argument("--helpdesk", type=int, metavar="RUNS", default=0,
                        help="then django-helpdesk's get_email on the corpus, RUNS times "
                             "(bench/helpdesk_baseline.py), and the ratio")  # fmt: skip
    args = parser.parse_args()
    if args.noop_server:
        noop_server(args.noop_server, listener=args.listener, relay=args.relay)
        return
    os.sched_setaffinity(0, {1})
    noop_command = [sys.executable, "-m", "bench.email_bench", "--noop-server"]
    if args.sessions:
        compare_sessions(noop_command, args)
        return
    with tempfile.TemporaryDirectory(prefix="contacthub-email-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        noop = measure([*noop_command, str(port)], port, args)
        relay_port, port = free_port(), free_port()
        pipelining = [] if args.relay_without_pipelining else ["--relay"]
        relay = subprocess.Popen([*noop_command, str(relay_port), *pipelining])
        try:
            os.sched_setaffinity(relay.pid, {1})
            config = hub_config(workdir, port, relay_port, acknowledge=not args.no_acknowledgements)
            hub_command = [
                sys.executable,
                "-m",
                "hub.cli",
                "serve",
                "--workers",
                "1",
                "--config",
                str(config),
            ]
            hub = measure(hub_command, port, args, args.profile)
        finally:
            relay.terminate()
            relay.wait()
        report(noop, hub, stored(workdir / "bench.db"))
    if args.helpdesk:
        compare_helpdesk(hub, args.helpdesk)
    if args.profile is not None:
        print(f"\nhub profile (py-spy, {args.profile}):")
        print("\n".join(top_entries(args.profile)))


def compare_helpdesk(hub: Result, runs: int) -> None:
    """Issue #20's ratio, measured here: the hub against django-helpdesk on the same corpus,
    both on core 0, by emails/s and by emails per second of CPU."""
    print()
    helpdesk = measure_baseline(HELPDESK_MESSAGES, runs)
    rate = hub.load.accepted / hub.elapsed
    hub_cpu_ms = 1000 * max(hub.server_cpu, 0.01) / rate
    print(f"hub/django-helpdesk: {rate / helpdesk.rate:.1f}x by emails/s, "
          f"{helpdesk.cpu_ms / hub_cpu_ms:.1f}x per CPU second (goal 20x)")  # fmt: skip


def compare_sessions(noop_command: list[str], args: argparse.Namespace) -> None:
    """Server CPU per email of aiosmtpd's session and of the listener's (no-op handlers)."""
    for _ in range(args.sessions):
        for name, extra in (("aiosmtpd", []), ("listener", ["--listener"])):
            port = free_port()
            result = measure([*noop_command, str(port), *extra], port, args)
            done = max(result.load.accepted, 1)
            cpu_us = result.server_cpu * result.elapsed / done * 1e6
            print(f"{name:9} session, no-op handler: {done / result.elapsed:6.0f} msg/s,"
                  f" {cpu_us:5.0f} µs of server CPU per email")  # fmt: skip


if __name__ == "__main__":
    main()
