"""Signed Twilio SMS webhooks through the whole hub into SQLite, against the bare stack.

    .venv/bin/python -m bench.sms_bench [--seconds 10] [--connections 64] [--workers 1]

In one run, one after the other, on the same pre-signed unique requests (signed as Twilio
signs them, for the hub's public URL): (a) a bare aiohttp handler answering the same TwiML,
(b) the same handler also validating with twilio's RequestValidator, and (c) `contacthub
serve` (SQLite, WAL, synchronous=FULL) - each as `--workers` processes on one port, driven
by wrk at full speed. Then a fresh hub
is driven open-loop at a quarter and at half of (b)'s rate for the latency at those rates.
Prints req/s, p50/p99, the ratios, and the count of stored messages (every acknowledged
webhook must be stored exactly once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from bench.loadgen import WrkResult, run_wrk, write_requests
from bench.paced import PacedResult, build_request, run_paced
from bench.support import free_port
from bench.webhook_bench import wait_ready
from channels.twilio.webhook import SIGNATURE_HEADER, TwilioSignature

ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench-twilio-auth-token-0123456789"
PUBLIC_URL = "https://hub.example.com"
PATH = "/webhooks/twilio/sms"
FORM = "application/x-www-form-urlencoded"
HERE = Path(__file__).resolve().parent


class _Multi(dict[str, list[str]]):
    def getall(self, key: str) -> list[str]:
        return self[key]


def signed_sms(count: int, offset: int = 0) -> list[tuple[str, str]]:
    signer = TwilioSignature(AUTH_TOKEN)
    signed = []
    for i in range(offset, offset + count):
        params = {
            "AccountSid": ACCOUNT_SID,
            "MessageSid": f"SM{i:032x}",
            "From": f"+1555{2000000 + i % 5000:07d}",
            "To": "+15557654321",
            "Body": "Hello, I have a question about my order number 1042, thanks!",
            "NumMedia": "0",
        }
        multi = _Multi({k: [v] for k, v in params.items()})
        signed.append((signer.sign(PUBLIC_URL + PATH, multi), urlencode(params)))
    return signed


def hub_config(workdir: Path, port: int, name: str) -> Path:
    config = workdir / f"{name}.toml"
    config.write_text(
        f'[server]\nport = {port}\npublic_url = "{PUBLIC_URL}"\n'
        f'[storage]\nurl = "sqlite:///{workdir / name}.db"\n'
        f'[channels.twilio]\naccount_sid = "{ACCOUNT_SID}"\nauth_token = "env:BENCH_TWILIO_TOKEN"\n'
        '[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


def start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_TWILIO_TOKEN": AUTH_TOKEN}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    wait_ready(port, process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait()


def measure(command: list[str], port: int, requests: Path, args: argparse.Namespace) -> WrkResult:
    process = start(command, port)
    try:
        return run_wrk(
            f"http://127.0.0.1:{port}{PATH}", requests, header=SIGNATURE_HEADER,
            connections=args.connections, seconds=args.seconds, content_type=FORM,
        )  # fmt: skip
    finally:
        stop(process)


WORKERS = [1]  # processes of each server (--workers): N hub workers against N bare ones


def hub_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "hub.cli", "serve", "--workers", str(WORKERS[0]), "--config",
            str(config)]  # fmt: skip


def bare_command(port: int, mode: str) -> list[str]:
    command = [sys.executable, str(HERE / "bare_twilio.py"), str(port), mode, AUTH_TOKEN,
               PUBLIC_URL]  # fmt: skip
    return [sys.executable, "-m", "bench.bare_workers", str(WORKERS[0]), *command]


def paced(workdir: Path, rate: float, seconds: int, first: int) -> PacedResult:
    """A fresh hub driven open-loop at `rate` with requests not sent before."""
    port = free_port()
    process = start(hub_command(hub_config(workdir, port, f"paced{int(rate)}")), port)
    try:
        raw = [
            build_request(f"127.0.0.1:{port}", PATH, {SIGNATURE_HEADER: sig, "Content-Type": FORM},
                          body.encode())
            for sig, body in signed_sms(int(rate * seconds) + 1, offset=first)
        ]  # fmt: skip
        return asyncio.run(run_paced(port, raw, rate, seconds))
    finally:
        stop(process)


def stored(workdir: Path, name: str) -> int:
    db = sqlite3.connect(workdir / f"{name}.db")
    try:
        return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        db.close()


def report(
    runs: dict[str, WrkResult], curve: list[PacedResult], acknowledged: int, kept: int
) -> None:
    print(f"{'':34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    for name, r in runs.items():
        print(
            f"{name:34}{r.requests_per_second:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.non_2xx:>9}{r.errors:>8}"
        )
    bare, validating, hub = (r.requests_per_second for r in runs.values())
    print(f"ratio hub/(a) bare:       {hub / bare:.2f}")
    print(f"ratio hub/(b) validating: {hub / validating:.2f}  (goal >= 0.50)")
    print(f"ratio (b)/(a):            {validating / bare:.2f}  (the cost of RequestValidator)")
    for point, share in zip(curve, ("a quarter", "half"), strict=True):
        print(
            f"hub open-loop at {point.rate:.0f} req/s ({share} of (b)): achieved"
            f" {point.achieved:.0f}, p50 {point.p50_ms:.2f} ms, p99 {point.p99_ms:.2f} ms,"
            f" max {point.max_ms:.1f} ms, non-2xx {point.non_2xx}"
        )
    print("goal: p99 <= 25 ms at half of (b)")
    print(f"stored messages: {kept} (every one of the {acknowledged} acknowledged, and those")
    print("  answered after wrk stopped counting)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=150_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    WORKERS[0] = args.workers
    print(f"{args.workers} worker(s) each")
    with tempfile.TemporaryDirectory(prefix="contacthub-sms-bench-") as tmp:
        workdir = Path(tmp)
        requests = workdir / "sms.txt"
        write_requests(requests, signed_sms(args.requests))
        runs: dict[str, WrkResult] = {}
        for name, mode in (("(a) bare aiohttp, same TwiML", "plain"),
                           ("(b) bare + RequestValidator", "validate")):  # fmt: skip
            port = free_port()
            runs[name] = measure(bare_command(port, mode), port, requests, args)
        port = free_port()
        config = hub_config(workdir, port, "hub")
        runs["(c) contacthub -> SQLite"] = measure(hub_command(config), port, requests, args)
        hub = runs["(c) contacthub -> SQLite"]
        validating = runs["(b) bare + RequestValidator"].requests_per_second
        curve = [
            paced(workdir, validating * share, args.seconds, first=args.requests * (n + 1))
            for n, share in enumerate((0.25, 0.5))
        ]
        acknowledged = min(hub.requests - hub.non_2xx, args.requests)
        report(runs, curve, acknowledged, stored(workdir, "hub"))


if __name__ == "__main__":
    main()
