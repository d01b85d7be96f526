"""Nothing acknowledged is lost: SIGKILL the hub under concurrent load, restart, count."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
from pathlib import Path

import aiohttp

from tests.hub.serving import start_serve, write_config
from tests.support import form_body, form_headers

CONTACTS = 600
WORKERS = 24


async def deliver(http: aiohttp.ClientSession, url: str, external_id: str, acked: set[str]) -> None:
    """Send one contact until the hub acknowledges it, as a provider retries."""
    body = form_body(external_id, email=f"{external_id}@example.com")
    while True:
        try:
            async with http.post(url, data=body, headers=form_headers(body)) as response:
                if response.status in (200, 201):
                    acked.add(external_id)
                    return
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.02)


async def test_sigkill_mid_load_loses_no_acknowledged_contact(tmp_path: Path) -> None:
    config, port = write_config(tmp_path)
    url = f"http://127.0.0.1:{port}/webhooks/form"
    process = await start_serve(config, port)
    acked: set[str] = set()
    pending = [f"c{i:04d}" for i in range(CONTACTS)]
    acked_before_kill: set[str] = set()
    third_acked = asyncio.Event()
    restarted: list[subprocess.Popen[bytes]] = []

    async def worker(http: aiohttp.ClientSession) -> None:
        while pending:
            await deliver(http, url, pending.pop(), acked)
            if len(acked) >= CONTACTS // 3:
                third_acked.set()

    async def killer() -> None:
        await third_acked.wait()
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait)
        acked_before_kill.update(acked)
        restarted.append(await start_serve(config, port))

    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(killer(), *(worker(http) for _ in range(WORKERS)))
    restarted[0].terminate()
    await asyncio.to_thread(restarted[0].wait)

    assert len(acked) == CONTACTS
    assert CONTACTS // 3 <= len(acked_before_kill) < CONTACTS
    db = sqlite3.connect(tmp_path / "hub.db")
    keys = [k for (k,) in db.execute("SELECT dedupe_key FROM messages")]
    db.close()
    assert len(keys) == len(set(keys)) == CONTACTS
    assert {k.removeprefix("form:") for k in keys} == acked
