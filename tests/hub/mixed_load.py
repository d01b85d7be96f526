"""Mixed load across every channel against real `contacthub serve` processes, for the fault
suite: form, SMS, voice, Slack, SMTP email, web chat and the dialer's status callbacks, each
sent as its provider sends it and retried, as its provider retries, until acknowledged.

A `Load` drives one or more hubs on one storage URL; after the run, `tally` reads the store
and counts per channel what was sent, acknowledged, stored, missing (acknowledged but not
stored) and duplicated (stored more than once).
"""

from __future__ import annotations

import asyncio
import signal
import smtplib
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from core.model import Direction, Message, TicketFilter
from storage.base import Store, open_store
from tests.channels.webchat.support import CHAT_SECRET
from tests.hub.email_support import SUPPORT as MAILBOX
from tests.hub.load_drivers import ACK, Driver
from tests.hub.serving import start_serve
from tests.slack_support import BOT_TOKEN, SIGNING_SECRET, SUPPORT
from tests.support import free_port
from tests.twilio_support import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL

NETWORK = "network"  # refused connection, reset, timeout: the hub is down or dying
FAILURES = (OSError, TimeoutError, aiohttp.ClientError, smtplib.SMTPException)


@dataclass
class HubProcess:
    """One `contacthub serve` with its own HTTP and SMTP ports and config directory."""

    directory: Path
    port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def write_config(self, storage_url: str, slack_api: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "contacthub.toml"
        config.write_text(
            f'[server]\nport = {self.port}\npublic_url = "{PUBLIC_URL}"\n'
            f'[storage]\nurl = "{storage_url}"\nblob_dir = "{self.directory / "blobs"}"\n'
            '[channels.webform]\nsecret = "env:FORM_SECRET"\n'
            f'[channels.twilio]\naccount_sid = "{ACCOUNT_SID}"\nauth_token = "{AUTH_TOKEN}"\n'
            'api_base = "http://127.0.0.1:9"\nacknowledgement = ""\n'  # nothing is sent out
            f'[channels.slack]\nsigning_secret = "{SIGNING_SECRET}"\nbot_token = "{BOT_TOKEN}"\n'
            f'api_base = "{slack_api}"\nsupport_channels = ["{SUPPORT}"]\n'
            f'[channels.smtp]\nport = {self.smtp_port}\nmailboxes = ["{MAILBOX}"]\n'
            f'[channels.webchat]\nsecret = "{CHAT_SECRET}"\nsockets_per_ip = 1000\n'
            "messages_per_minute = 1000\n"
            '[campaigns]\ncaller_id = "+12125550000"\ndial_tick = "1h"\nhours = "00:00-24:00"\n'
            '[logging]\nlevel = "warning"\n',
            encoding="utf-8",
        )
        return config

    async def start(self) -> None:
        self.process = await start_serve(self.directory / "contacthub.toml", self.port)

    async def kill(self) -> None:
        """SIGKILL: nothing flushed, nothing closed, requests in flight cut."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.process.wait)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


async def inbound_messages(store: Store) -> Counter[tuple[str, str]]:
    """(channel, external id) of every inbound message in the store, with its count."""
    counts: Counter[tuple[str, str]] = Counter()
    cursor: str | None = None
    while True:
        page = await store.list_tickets(TicketFilter(), limit=100, cursor=cursor)
        for listed in page.items:
            messages: tuple[Message, ...] = (await store.get_ticket(listed.id)).messages
            counts.update(
                (m.channel, m.external_id) for m in messages if m.direction is Direction.INBOUND
            )
        if page.next is None:
            return counts
        cursor = page.next


@dataclass
class ChannelTally:
    sent: int
    acknowledged: int
    stored: int
    missing: int  # acknowledged, not stored: the one loss that matters
    duplicates: int  # stored copies beyond the first


@dataclass
class Load:
    """Every driver's keys, interleaved, delivered by `workers` (at most `rate` a second)
    until each is acknowledged;
    the i-th attempt of a key goes to hub i mod N, as a balancer and a retrying provider do."""

    drivers: list[Driver]
    hubs: list[HubProcess]
    per_channel: int
    workers: int = 24
    rate: float = 100.0  # contacts a second at most: the load outlasts a hub's restart
    acked: dict[str, set[str]] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)
    sent: dict[str, list[str]] = field(default_factory=dict)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        for driver in self.drivers:
            self.sent[driver.name] = driver.keys(self.per_channel)
            self.acked[driver.name] = set()

    @property
    def total(self) -> int:
        return self.per_channel * len(self.drivers)

    def acknowledged(self) -> int:
        return sum(map(len, self.acked.values()))

    async def run(self, faults: Callable[[Load], Any]) -> None:
        pending = [
            (driver, self.sent[driver.name][n])
            for n in range(self.per_channel)
            for driver in self.drivers
        ]
        pending.reverse()  # popped from the end: every channel from the start
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:

            async def worker() -> None:
                while pending:
                    driver, key = pending.pop()
                    await self.deliver(http, driver, key)
                    await asyncio.sleep(self.workers / self.rate)

            await asyncio.gather(faults(self), *(worker() for _ in range(self.workers)))

    async def deliver(self, http: aiohttp.ClientSession, driver: Driver, key: str) -> None:
        attempt = 0
        while True:
            hub = self.hubs[attempt % len(self.hubs)]
            try:
                answer = await driver.deliver(http, hub, key)
            except FAILURES:
                answer = NETWORK
            if answer == ACK:
                self.acked[driver.name].add(key)
                async with self.progress:
                    self.progress.notify_all()
                return
            self.refusals[f"{driver.name} {answer}"] += 1
            attempt += 1
            await asyncio.sleep(0.02)

    async def until(self, share: float) -> None:
        """Until this share of all contacts is acknowledged."""
        async with self.progress:
            await self.progress.wait_for(lambda: self.acknowledged() >= self.total * share)

    async def tally(self, url: str) -> dict[str, ChannelTally]:
        store = open_store(url)
        await store.open()
        try:
            messages = await inbound_messages(store)
            return {
                d.name: self._tally(d.name, await d.stored(store, messages)) for d in self.drivers
            }
        finally:
            await store.close()

    def _tally(self, name: str, stored: Counter[str]) -> ChannelTally:
        sent, acked = set(self.sent[name]), self.acked[name]
        return ChannelTally(
            sent=len(sent),
            acknowledged=len(acked),
            stored=sum(1 for key in sent if stored[key] > 0),
            missing=sum(1 for key in acked if stored[key] == 0),
            duplicates=sum(count - 1 for key, count in stored.items() if key in sent and count > 1),
        )
