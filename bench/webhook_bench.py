"""Signed web form webhooks through the whole hub into SQLite, against the bare stack.

    .venv/bin/python -m bench.webhook_bench [--seconds 10] [--connections 64] [--workers 1]

Starts, one after the other, a bare aiohttp handler and `contacthub serve` (SQLite, WAL,
synchronous=FULL), each as `--workers` processes on one port (SO_REUSEPORT), drives each
with wrk from the same pre-signed unique requests, and prints contacts/s, p50/p99 latency
and the ratio hub/bare. Then a fresh hub is driven open-loop (bench/paced.py) at half the
bare rate: latency from each request's scheduled time (goal p99 <= 25 ms). Afterwards it
counts what the hubs stored: every 2xx a stored message, exactly once.
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
import time
import urllib.request
from pathlib import Path

from bench.loadgen import WrkResult, run_wrk, write_requests
from bench.paced import PacedResult, build_request, run_paced
from bench.support import free_port
from channels.base import hmac_sha256_hex
from channels.webform import SIGNATURE_HEADER

SECRET = "bench-form-secret-0123456789abcdef"
HERE = Path(__file__).resolve().parent


def signed_forms(count: int, offset: int = 0) -> list[tuple[str, str]]:
    forms = []
    for i in range(offset, offset + count):
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
    for _ in range(1200):  # a minute: workers start slowly on a busy machine
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    process.terminate()  # not left behind
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


def hub_config(workdir: Path, port: int, name: str = "bench") -> Path:
    query = os.environ.get("BENCH_DB_QUERY", "")  # e.g. ?synchronous=normal, to compare
    config = workdir / f"{name}.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{workdir / name}.db{query}"\n'
        '[channels.webform]\nsecret = "env:BENCH_FORM_SECRET"\n[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


def hub_command(config: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "hub.cli", "serve", "--workers", str(workers), "--config",
            str(config)]  # fmt: skip


def bare_command(port: int, workers: int) -> list[str]:
    command = [sys.executable, str(HERE / "bare_server.py"), str(port)]
    return [sys.executable, "-m", "bench.bare_workers", str(workers), *command]


def paced(workdir: Path, rate: float, args: argparse.Namespace) -> PacedResult:
    """A fresh hub driven open-loop at `rate` with requests not sent before."""
    port = free_port()
    config = hub_config(workdir, port, "paced")
    env = {**os.environ, "BENCH_FORM_SECRET": SECRET}
    process = subprocess.Popen(hub_command(config, args.workers), env=env,
                               stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_ready(port, process)
        headers = {"Content-Type": "application/json"}
        raw = [
            build_request(f"127.0.0.1:{port}", "/webhooks/form",
                          {**headers, SIGNATURE_HEADER: sig}, body.encode())
            for sig, body in signed_forms(int(rate * args.seconds) + 1, offset=args.requests)
        ]  # fmt: skip
        return asyncio.run(run_paced(port, raw, rate, args.seconds))
    finally:
        process.terminate()
        process.wait()


def stored(db_path: Path) -> tuple[int, int]:
    """(messages, distinct dedupe keys) the hub stored."""
    db = sqlite3.connect(db_path)
    try:
        row = db.execute("SELECT count(*), count(DISTINCT dedupe_key) FROM messages").fetchone()
        return int(row[0]), int(row[1])
    finally:
        db.close()


def report(bare: WrkResult, hub: WrkResult, point: PacedResult, workers: int) -> None:
    ratio = hub.requests_per_second / bare.requests_per_second
    print(f"{workers} worker(s) each")
    print(f"{'':24}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    for name, r in (("bare aiohttp handler", bare), ("contacthub -> SQLite", hub)):
        print(
            f"{name:24}{r.requests_per_second:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.non_2xx:>9}{r.errors:>8}"
        )
    print(f"ratio hub/bare: {ratio:.2f}  (goal >= 0.5)")
    print(
        f"hub open-loop at {point.rate:.0f} req/s (half the bare rate): achieved"
        f" {point.achieved:.0f}, p50 {point.p50_ms:.2f} ms, p99 {point.p99_ms:.2f} ms,"
        f" max {point.max_ms:.1f} ms, non-2xx {point.non_2xx}  (goal p99 <= 25 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=150_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contacthub-bench-") as tmp:
        workdir = Path(tmp)
        requests = workdir / "forms.txt"
        write_requests(requests, signed_forms(args.requests))
        port = free_port()
        bare = measure(bare_command(port, args.workers), port, requests, args)
        port = free_port()
        hub = measure(hub_command(hub_config(workdir, port), args.workers), port, requests, args)
        point = paced(workdir, bare.requests_per_second / 2, args)
        report(bare, hub, point, args.workers)
        acknowledged = min(hub.requests - hub.non_2xx, args.requests)
        messages, distinct = stored(workdir / "bench.db")
        print(f"closed loop: {messages} stored ({distinct} distinct) of {acknowledged}"
              " acknowledged (a few more are stored after wrk stops counting)")  # fmt: skip
        messages, distinct = stored(workdir / "paced.db")
        print(f"open loop: {messages} stored ({distinct} distinct) of "
              f"{int(point.rate * args.seconds) - point.non_2xx} acknowledged")  # fmt: skip


if __name__ == "__main__":
    main()
