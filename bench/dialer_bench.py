"""Progressive dialing for 200 agents on one hub, against the local Twilio Calls stand-in.

    .venv/bin/python -m bench.dialer_bench --agents 200 --seconds 20

`contacthub serve` (SQLite, WAL, synchronous=FULL) runs in its own process with one
progressive campaign of `--contacts` numbers; the Calls API stand-in (hub/demo/
twilio_calls.py) runs in this process, answering every Calls.json request and playing
each call out as Twilio would: nobody answers, and after the ringing a signed `completed`
status callback says `no-answer`. So every agent stays ready and each call's end asks for
the next one.

1. Latency. Numbers ring `--ring` seconds (as an unanswered call does), so the hub is
   mostly idle, and the agents become ready one after another, `--ready-rate` a second
   (each a real `PUT /api/campaigns/spring/agents/me`): the time from sending that request
   to the stand-in receiving the agent's first Calls.json request is the ready -> dial
   latency.
2. Throughput. Then the numbers stop ringing (no-answer at once): the 200 agents' calls
   follow each other as fast as the hub can decide them, and the calls placed in
   `--seconds` give dial decisions a second (each one: take the agent, lease the most
   pressing callable contact, place the call, hear its end).

The legal calling hours are lifted in the bench's config (`allow_outside_legal_hours`),
so the figures do not depend on the hour the bench runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

from bench.support import free_port
from bench.webhook_bench import wait_ready
from core.model import Role
from hub.demo.twilio_calls import Callee, CallsEmulator
from hub.tokens import digest, new_secret
from storage.base import open_store

ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench-twilio-auth-token-0123456789"
AREA_CODES = (212, 646, 718, 917, 347, 929)


def hub_config(workdir: Path, port: int, api_base: str) -> Path:
    config = workdir / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        f'[storage]\nurl = "sqlite:///{workdir / "bench.db"}"\n'
        f'[channels.twilio]\naccount_sid = "{ACCOUNT_SID}"\nauth_token = "{AUTH_TOKEN}"\n'
        f'api_base = "{api_base}"\n'
        '[campaigns]\ncaller_id = "+12125550000"\nhours = "00:00-24:00"\n'
        'allow_outside_legal_hours = true\ndial_tick = "1h"\n'
        '[logging]\nlevel = "error"\n',
        encoding="utf-8",
    )
    return config


def numbers(count: int) -> list[str]:
    return [f"+1{AREA_CODES[n // 9000]}555{1000 + n % 9000:04d}" for n in range(count)]


async def tokens(db: Path, agents: int) -> list[str]:
    """Outbound agents' tokens, straight into the store (a CLI run each would take minutes)."""
    store = open_store(f"sqlite:///{db}")
    await store.open()
    secrets = [new_secret() for _ in range(agents)]
    try:
        now = datetime.now(UTC)
        for n, secret in enumerate(secrets):
            await store.add_token(f"agent{n:03d}", Role.OUTBOUND, digest(secret), now)
    finally:
        await store.close()
    return secrets


async def campaign(http: aiohttp.ClientSession, auth: dict[str, str], contacts: int) -> None:
    body = {"name": "spring", "state": "running", "dialer": "progressive", "max_attempts": 100}
    async with http.post("/api/campaigns", json=body, headers=auth) as answer:
        assert answer.status == 201, await answer.text()
    csv = "phone\n" + "\n".join(numbers(contacts)) + "\n"
    headers = {**auth, "Content-Type": "text/csv"}
    async with http.post("/api/campaigns/spring/contacts", data=csv, headers=headers) as answer:
        report = await answer.json()
        assert report["accepted"] == contacts, report


async def make_ready(
    http: aiohttp.ClientSession, secrets: list[str], rate: float
) -> dict[str, float]:
    """Each agent ready in turn, paced; when each request was sent (monotonic)."""
    sent: dict[str, float] = {}
    start = time.monotonic()
    for n, secret in enumerate(secrets):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        name = f"agent{n:03d}"
        sent[name] = time.monotonic()
        body = {"endpoint": f"+1917555{n:04d}", "ready": True}
        headers = {"Authorization": f"Bearer {secret}"}
        async with http.put("/api/campaigns/spring/agents/me", json=body, headers=headers) as r:
            assert r.status == 200, await r.text()
    return sent


def first_dials(voice: CallsEmulator, db: Path) -> dict[str, float]:
    """Each agent's first call, by the attempt named in the call's Url."""
    agents = dict(sqlite3.connect(db).execute("SELECT id, agent FROM campaign_attempts"))
    first: dict[str, float] = {}
    for call in voice.calls:
        attempt = int(parse_qs(urlsplit(call.url).query)["attempt"][0])
        agent = agents.get(attempt)
        if agent is not None and agent not in first:
            first[agent] = call.created
    return first


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace, workdir: Path) -> None:
    voice = CallsEmulator(ACCOUNT_SID, AUTH_TOKEN)
    voice.callees = dict.fromkeys(numbers(args.contacts), Callee("no-answer", ring=args.ring))
    app = web.Application()
    app.add_routes(voice.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    api_port, port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    config = hub_config(workdir, port, f"http://127.0.0.1:{api_port}")
    db = workdir / "bench.db"
    command = [sys.executable, "-m", "hub.cli", "serve", "--workers", "1", "--config", str(config)]
    process = await asyncio.to_thread(
        subprocess.Popen, command, env=dict(os.environ), stdout=subprocess.DEVNULL
    )
    try:
        await asyncio.to_thread(wait_ready, port, process)
        secrets = await tokens(db, args.agents + 1)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            supervisor = {"Authorization": f"Bearer {secrets[-1]}"}
            await campaign(http, supervisor, args.contacts)
            sent = await make_ready(http, secrets[:-1], args.ready_rate)
            await asyncio.sleep(1.0)
            voice.callees = dict.fromkeys(voice.callees, Callee("no-answer"))
            await asyncio.sleep(args.ring + 1.0)  # the calls still ringing end
            before, start = len(voice.calls), time.monotonic()
            await asyncio.sleep(args.seconds)
            placed, elapsed = len(voice.calls) - before, time.monotonic() - start
            async with http.post("/api/campaigns/spring/pause", headers=supervisor):
                pass
        await asyncio.sleep(0.5)
        report(args, sent, first_dials(voice, db), placed / elapsed)
    finally:
        process.terminate()
        process.wait(timeout=30)
        await voice.close()
        await runner.cleanup()


def report(
    args: argparse.Namespace, sent: dict[str, float], first: dict[str, float], rate: float
) -> None:
    latencies = [(first[name] - sent[name]) * 1000 for name in sent if name in first]
    print(f"agents ready: {len(sent)} at {args.ready_rate:.0f}/s, numbers ringing "
          f"{args.ring:.0f} s; first dial seen for {len(latencies)}")  # fmt: skip
    if latencies:
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        mean = statistics.fmean(latencies)
        print(f"ready -> dial request ms: p50 {p50:.1f}  p99 {p99:.1f}  mean {mean:.1f}")
    print(f"dial decisions/s with {len(sent)} agents cycling: {rate:.0f} "
          f"(calls placed over {args.seconds} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--ready-rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--ring", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contacthub-dialer-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
