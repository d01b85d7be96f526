"""Mixed load across every channel against real `contacthub serve` processes, for the fault
suite: form, SMS, voice, Slack, SMTP email, web chat and the dialer's status callbacks, each
sent as its provider sends it and retried, as its provider retries, until acknowledged.

A `Load` drives one or more hubs on one storage URL; after the run, `tally` reads the store
and counts per channel what was sent, acknowledged, stored, missing (acknowledged but not
stored) and duplicated (stored more than once).
"""

from __future__ import annotations

import asyncio
import re
import signal
import smtplib
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp

from core.campaigns import CallOutcome
from core.model import Direction, Message, TicketFilter
from hub.demo.slack_emulator import SlackEmulator
from storage.base import Store, open_store
from tests.channels.webchat.support import CHAT_SECRET, signed
from tests.hub.email_support import SUPPORT as MAILBOX
from tests.hub.email_support import compose
from tests.hub.serving import start_serve
from tests.slack_support import BOT_TOKEN, SIGNING_SECRET, SUPPORT, body_of, message, slack_headers
from tests.storage.test_contract_campaigns import contact, phone, running
from tests.support import form_body, form_headers, free_port
from tests.twilio_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    call_params,
    signature,
    sms_params,
)

ACK = "ack"
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


class Driver(Protocol):
    """One channel: its keys, one delivery as its provider makes it, and what was stored."""

    name: str

    def keys(self, count: int) -> list[str]: ...
    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str: ...
    async def stored(self, store: Store, messages: Counter[tuple[str, str]]) -> Counter[str]: ...


class MessageDriver:
    """A channel whose contacts become messages whose external id holds the key."""

    name = ""
    channel = ""

    def keys(self, count: int) -> list[str]:
        return [self.key(n) for n in range(count)]

    def key(self, n: int) -> str:
        return f"{self.name}{n:04d}"

    def key_of(self, external_id: str) -> str:
        return external_id

    async def stored(self, store: Store, messages: Counter[tuple[str, str]]) -> Counter[str]:
        found: Counter[str] = Counter()
        for (channel, external_id), count in messages.items():
            if channel == self.channel:
                found[self.key_of(external_id)] += count
        return found


def number(key: str) -> int:
    return int(re.sub(r"\D", "", key)[-4:])


class Form(MessageDriver):
    name = channel = "form"

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        body = form_body(key, email=f"{key}@example.com", message=f"form {key}")
        async with http.post(hub.url("/webhooks/form"), data=body, headers=form_headers(body)) as r:
            return ACK if r.status in (200, 201) else str(r.status)


async def post_twilio(
    http: aiohttp.ClientSession, hub: HubProcess, path: str, params: list[tuple[str, str]]
) -> int:
    """POST as Twilio does, signed for the hub's public URL."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(PUBLIC_URL + path, params),
    }
    async with http.post(hub.url(path), data=urlencode(params), headers=headers) as response:
        await response.read()
        return response.status


class Sms(MessageDriver):
    name, channel = "sms", "sms"

    def key(self, n: int) -> str:
        return f"SM{n:032x}"

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        params = sms_params(key, f"sms {key}", sender=phone(5000 + number(key)))
        status = await post_twilio(http, hub, "/webhooks/twilio/sms", params)
        return ACK if status == 200 else str(status)


class Voice(MessageDriver):
    name, channel = "voice", "voice"

    def key(self, n: int) -> str:
        return f"CA{n:032x}"

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        params = call_params(key, caller=phone(6000 + number(key)))
        status = await post_twilio(http, hub, "/webhooks/twilio/voice", params)
        return ACK if status == 200 else str(status)


class Slack(MessageDriver):
    name, channel = "slack", "slack"

    def __init__(self, api: SlackEmulator) -> None:
        self.api = api

    def keys(self, count: int) -> list[str]:
        for n in range(count):
            self.api.add_user(f"U{n:07d}", f"Load {n}")
        return super().keys(count)

    def key(self, n: int) -> str:
        return f"1700000000.{n:06d}"

    def key_of(self, external_id: str) -> str:
        return external_id.removeprefix(f"{SUPPORT}:")

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        event = message(f"slack {key}", user=f"U{number(key):07d}", ts=key)
        body = body_of(event, f"Ev{number(key):06d}")
        url = hub.url("/webhooks/slack/events")
        async with http.post(url, data=body, headers=slack_headers(body)) as response:
            await response.read()
            return ACK if response.status == 200 else str(response.status)


class Email(MessageDriver):
    name, channel = "mail", "email"

    def key(self, n: int) -> str:
        return f"mail{n:04d}@load.example"

    def key_of(self, external_id: str) -> str:
        found = re.search(r"mail\d{4}@load\.example", external_id)
        return found.group(0) if found else external_id

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        raw = compose(f"email {key}", sender=f"Load <{key}>", subject=key, message_id=f"<{key}>")
        return await asyncio.to_thread(self._send, hub.smtp_port, key, raw)

    @staticmethod
    def _send(port: int, sender: str, raw: bytes) -> str:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            try:
                client.sendmail(sender, [MAILBOX], raw)
            except smtplib.SMTPRecipientsRefused as exc:
                return str(next(iter(exc.recipients.values()))[0])
            except smtplib.SMTPResponseException as exc:
                return str(exc.smtp_code)
        return ACK


class Chat(MessageDriver):
    """A signed visitor per key: hello, one message, its ack (or an error frame)."""

    name = channel = "chat"

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        async with http.ws_connect(hub.url("/chat/ws")) as ws:
            hello = {"type": "hello", "visitor": {"name": key}, "identity": signed(f"v-{key}")}
            await ws.send_json(hello)
            welcome = await self._frame(ws)
            if welcome.get("type") != "welcome":
                return f"chat {welcome.get('code')}"
            await ws.send_json({"type": "message", "client_id": key, "text": f"chat {key}"})
            while True:
                frame = await self._frame(ws)
                if frame.get("type") == "ack" and frame.get("client_id") == key:
                    return ACK
                if frame.get("type") == "error":
                    return f"chat {frame.get('code')}"

    @staticmethod
    async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        received = await ws.receive(timeout=10)
        if received.type is not aiohttp.WSMsgType.TEXT:
            raise aiohttp.ClientConnectionError(f"socket ended: {received.type!r}")
        frame: dict[str, Any] = received.json()
        return frame


class Dialer:
    """Status callbacks of dialled calls: each attempt was leased and dialled before the load;
    its callback (no-answer) must record the attempt's outcome once."""

    name = "dialer"

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {}  # call sid -> attempt id

    def keys(self, count: int) -> list[str]:
        return [f"CA{10**6 + n:032x}" for n in range(count)]

    async def prepare(self, url: str, count: int) -> None:
        """A running campaign with `count` contacts, each leased to ann and dialled."""
        store = open_store(url)
        await store.open()
        try:
            campaign = await running(store)
            now = datetime.now(UTC)
            contacts = [contact(phone(7000 + n), n + 1, at=now) for n in range(count)]
            await store.add_contacts(campaign.id, contacts, "csv:load", now)
            slots = await store.campaign_slots(campaign.id)
            # ann takes no progressive dial: the callbacks free her and nothing is dialled.
            await store.put_dialer_agent("ann", campaign.id, "+12125550199", now, ready=False)
            for sid in self.keys(count):
                lease = await store.next_contact(
                    campaign.id, slots, "ann", now, now + timedelta(days=1)
                )
                assert lease is not None
                await store.set_call(lease.attempt.id, sid)
                self.attempts[sid] = lease.attempt.id
        finally:
            await store.close()

    async def deliver(self, http: aiohttp.ClientSession, hub: HubProcess, key: str) -> str:
        path = f"/webhooks/twilio/dialer/status?attempt={self.attempts[key]}"
        params = [
            ("AccountSid", ACCOUNT_SID), ("CallSid", key), ("From", "+12125550000"),
            ("To", phone(7000)), ("CallStatus", "no-answer"), ("Direction", "outbound-api"),
        ]  # fmt: skip
        status = await post_twilio(http, hub, path, params)
        return ACK if status == 204 else str(status)

    async def stored(self, store: Store, messages: Counter[tuple[str, str]]) -> Counter[str]:
        """Recorded once: the attempt closed no_answer and its contact counts one attempt."""
        found: Counter[str] = Counter()
        for sid, attempt_id in self.attempts.items():
            attempt, _ = await store.get_attempt(attempt_id)
            history = await store.get_contact(attempt.contact_id)
            if attempt.outcome is CallOutcome.NO_ANSWER:
                found[sid] = history.contact.attempts
        return found


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
