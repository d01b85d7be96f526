"""Signed web form webhooks through the whole hub into SQLite, against the bare stack.

    .venv/bin/python -m bench.webhook_bench [--seconds 10] [--connections 64]

Starts, one after the other, a bare aiohttp handler and `contacthub serve` (SQLite, WAL,
synchronous=FULL), drives each with wrk from the same pre-signed unique requests, and
prints contacts/s, p50/p99 latency and the ratio hub/bare. Afterwards it counts what the
hub stored: every 2xx must be a stored message, exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.loadgen import WrkResult, run_wrk, write_requests
from bench.support import free_port
from channels.base import hmac_sha256_hex
from channels.webform import SIGNATURE_HEADER

SECRET = "bench-form-secret-0123456789abcdef"
HERE = Path(__file__).resolve().parent


def signed_forms(count: int) -> list[tuple[str, str]]:
    forms = []
    for i in range(count):
        body = json.dumps(
            {
                "external_id": f"bench-{i}",
                "name": f"Customer {i % 5000}",
                "email": f"customer{i % 5000}@example.com",
                "subject": "Order question",
                "message": "Hello, I have a question about my order number 1042, thanks!",
            }
        )
        forms.append(("sha256=" + hmac_sha256_hex(SECRET.encode(), body.encode()), body))
    return forms


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def measure(command: list[str], port: int, requests: Path, args: argparse.Namespace) -> WrkResult:
    env = {**os.environ, "BENCH_FORM_SECRET": SECRET}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_ready(port, process)
        return run_wrk(
            f"http://127.0.0.1:{port}/webhooks/form", requests, header=SIGNATURE_HEADER,
            connections=args.connections, seconds=args.seconds,
        )  # fmt: skip
    finally:
        process.terminate()
        process.wait()


def hub_config(workdir: Path, port: int) -> Path:
    query = os.environ.get("BENCH_DB_QUERY", "")  # e.g. ?synchronous=normal, to compare
    config = workdir / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{workdir / "bench.db"}{query}"\n'
        '[channels.webform]\nsecret = "env:BENCH_FORM_SECRET"\n[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


def report(bare: WrkResult, hub: WrkResult, stored: int, db_messages: int) -> None:
    ratio = hub.requests_per_second / bare.requests_per_second
    print(f"{'':24}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    for name, r in (("bare aiohttp handler", bare), ("contacthub -> SQLite", hub)):
        print(
            f"{name:24}{r.requests_per_second:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.non_2xx:>9}{r.errors:>8}"
        )
    print(f"ratio hub/bare: {ratio:.2f}  (goal >= 0.40)")
    print(f"stored messages: {db_messages} of {stored} unique requests acknowledged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=150_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contacthub-bench-") as tmp:
        workdir = Path(tmp)
        requests = workdir / "forms.txt"
        write_requests(requests, signed_forms(args.requests))
        port = free_port()
        bare = measure(
            [sys.executable, str(HERE / "bare_server.py"), str(port)], port, requests, args
        )
        port = free_port()
        config = hub_config(workdir, port)
        hub_command = [sys.executable, "-m", "hub.cli", "serve", "--config", str(config)]
        hub = measure(hub_command, port, requests, args)
        db = sqlite3.connect(workdir / "bench.db")
        db_messages = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        db.close()
        report(bare, hub, min(hub.requests - hub.non_2xx, args.requests), db_messages)


if __name__ == "__main__":
    main()
