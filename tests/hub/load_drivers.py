"""The channels of the fault suite's mixed load (tests/hub/mixed_load.py): each driver sends
one contact as its provider does and says whether the hub acknowledged it, and counts what
the store holds of its contacts afterwards."""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import aiohttp

from core.campaigns import CallOutcome
from hub.demo.slack_emulator import SlackEmulator
from storage.base import Store, open_store
from tests.channels.webchat.support import signed
from tests.hub.email_support import SUPPORT as MAILBOX
from tests.hub.email_support import compose
from tests.slack_support import SUPPORT, body_of, message, slack_headers
from tests.storage.test_contract_campaigns import contact, phone, running
from tests.support import form_body, form_headers
from tests.twilio_support import ACCOUNT_SID, PUBLIC_URL, call_params, signature, sms_params

if TYPE_CHECKING:
    from tests.hub.mixed_load import HubProcess

ACK = "ack"


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
