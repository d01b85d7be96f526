"""Signed Slack events through the whole hub into SQLite, against the bare stack.

    .venv/bin/python -m bench.slack_bench [--seconds 10] [--connections 64]

In one run, one after the other, on the same unique `message` events signed as Slack signs
them (v0 HMAC over `v0:{timestamp}:{body}`; every request file is signed with a fresh
timestamp just before its run, as the hub refuses requests older than 5 minutes): (a) a
bare aiohttp handler, (b) the same handler verifying the signature and dispatching through
slack-bolt to a listener that does nothing, and (c) `contacthub serve` (SQLite, WAL,
synchronous=FULL) with users.info answered by the local Slack emulator (2,000 users, each
looked up once, then cached). Prints req/s, p50/p99, the ratios to (a) and (b), and the
count of stored messages: every acknowledged event must be stored exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.loadgen import WrkResult, run_wrk, write_requests
from bench.support import free_port
from bench.webhook_bench import wait_ready
from hub.demo.slack_emulator import SlackEmulator
from hub.demo.slack_events import SUPPORT, envelope, message, slack_signature

PATH = "/webhooks/slack/events"
SIGNING_SECRET = "bench-slack-signing-secret-0123456789"
BOT_TOKEN = "xoxb-bench-bot-token"
USERS = 2000
HERE = Path(__file__).resolve().parent


def signed_events(count: int, offset: int) -> tuple[str, list[tuple[str, str]]]:
    """Unique events, all signed with one timestamp taken now (the bench's fixed header)."""
    stamp = str(int(time.time()))
    signed = []
    for i in range(offset, offset + count):
        event = message(
            "Hello, I have a question about my order number 1042, thanks!",
            user=f"U{i % USERS:08d}",
            ts=f"{1_700_000_000 + i // 1_000_000}.{i % 1_000_000:06d}",
        )
        body = json.dumps(envelope(event, f"Ev{i:012d}"))
        signed.append((slack_signature(body.encode(), stamp, SIGNING_SECRET), body))
    return stamp, signed


@contextmanager
def emulator() -> Iterator[str]:
    """The Slack Web API emulator on its own event loop, in a thread of the bench."""
    api = SlackEmulator(BOT_TOKEN)
    for n in range(USERS):
        api.add_user(f"U{n:08d}", f"Customer {n}", f"customer{n}@example.com")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    base = asyncio.run_coroutine_threadsafe(api.start(), loop).result()
    try:
        yield base
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def measure(
    command: list[str], port: int, workdir: Path, offset: int, args: argparse.Namespace
) -> WrkResult:
    process = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.DEVNULL)
    try:
        wait_ready(port, process)
        stamp, signed = signed_events(args.requests, offset)
        requests = workdir / f"events-{offset}.txt"
        write_requests(requests, signed)
        return run_wrk(
            f"http://127.0.0.1:{port}{PATH}", requests, header="X-Slack-Signature",
            connections=args.connections, seconds=args.seconds,
            fixed_header=("X-Slack-Request-Timestamp", stamp),
        )  # fmt: skip
    finally:
        process.terminate()
        process.wait()


def hub_config(workdir: Path, port: int, api_base: str) -> Path:
    config = workdir / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{workdir / "bench.db"}"\n'
        f'[channels.slack]\nsigning_secret = "{SIGNING_SECRET}"\nbot_token = "{BOT_TOKEN}"\n'
        f'api_base = "{api_base}"\nsupport_channels = ["{SUPPORT}"]\n'
        '[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


def report(results: dict[str, WrkResult], acknowledged: int, stored: int) -> None:
    print(f"{'':32}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    for name, r in results.items():
        print(
            f"{name:32}{r.requests_per_second:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.non_2xx:>9}{r.errors:>8}"
        )
    bare, bolt, hub = (r.requests_per_second for r in results.values())
    print(f"ratio hub/bare: {hub / bare:.2f}   hub/bare+bolt: {hub / bolt:.2f}")
    print(f"stored messages: {stored} of {acknowledged} unique events acknowledged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    bare_script = str(HERE / "bare_slack.py")
    results: dict[str, WrkResult] = {}
    with tempfile.TemporaryDirectory(prefix="contacthub-bench-") as tmp, emulator() as api_base:
        workdir = Path(tmp)
        for name, mode in (("bare aiohttp handler", "plain"), ("bare + signature + bolt", "bolt")):
            port = free_port()
            command = [sys.executable, bare_script, str(port), mode, SIGNING_SECRET]
            results[name] = measure(command, port, workdir, 0, args)
        port = free_port()
        config = hub_config(workdir, port, api_base)
        command = [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--workers",
            "1",
            "--config",
            str(config),
        ]
        hub = results["contacthub -> SQLite"] = measure(command, port, workdir, 0, args)
        db = sqlite3.connect(workdir / "bench.db")
        stored = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        db.close()
    report(results, min(hub.requests - hub.non_2xx, args.requests), stored)


if __name__ == "__main__":
    main()
