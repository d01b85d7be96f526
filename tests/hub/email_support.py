"""Email test helpers: hub settings with the email channel, the hub's SMTP address, a real
outbound SMTP sink (aiosmtpd) that catches what the hub sends, smtplib in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator, Iterable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.smtp import SmtpChannel
from hub.settings.tree import Settings
from hub.state import CHANNELS
from tests.conftest import Hub, MakeSettings

SUPPORT = "support@hub.example"
SALES = "sales@hub.example"


def email_settings(
    make_settings: MakeSettings, tmp_path: Path, outbound_port: int | None = None, **smtp: Any
) -> Settings:
    sections: dict[str, Any] = {
        "storage": {"url": f"sqlite:///{tmp_path / 'hub.db'}", "blob_dir": str(tmp_path / "blobs")},
        "channels": {
            "smtp": {"port": 0, "mailboxes": [SUPPORT, SALES], "domains": ["help.example"], **smtp}
        },
    }
    if outbound_port is not None:
        sections["outbound"] = {
            "smtp": {"port": outbound_port, "send_backoff": 0.01, "acknowledgement_window": "1h"}
        }
    return make_settings(**sections)


def smtp_port(hub: Hub) -> int:
    for channel in hub.app[CHANNELS]:
        if isinstance(channel, SmtpChannel) and channel.address is not None:
            return channel.address[1]
    raise LookupError("no SMTP listener running")


def compose(
    body: str = "My order 1042 is late.",
    sender: str = "Ada Lovelace <ada@example.com>",
    to: str = SUPPORT,
    subject: str = "Order 1042",
    message_id: str = "<m1@example.com>",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def _send(port: int, messages: Iterable[tuple[bytes, list[str]]], sender: str) -> list[object]:
    """Send each message on one connection; per message the server's answer or refusal."""
    answers: list[object] = []
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        client.ehlo()
        for raw, recipients in messages:
            options = ["SMTPUTF8"] if not raw.isascii() else []
            try:
                client.sendmail(sender, recipients, raw, mail_options=options)
                answers.append(250)
            except smtplib.SMTPRecipientsRefused as exc:
                answers.append(exc)
            except smtplib.SMTPResponseException as exc:
                answers.append(exc)
                client.rset()
    return answers


async def send(
    port: int,
    raw: bytes,
    recipients: list[str] | None = None,
    sender: str = "ada@example.com",
) -> object:
    answers = await asyncio.to_thread(_send, port, [(raw, recipients or [SUPPORT])], sender)
    return answers[0]


async def send_many(port: int, messages: list[tuple[bytes, list[str]]]) -> list[object]:
    return await asyncio.to_thread(_send, port, messages, "relay@example.org")


class Outbox:
    """A real SMTP server catching what the hub sends (the relay in tests)."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.arrived = asyncio.Condition()
        self.refuse: str | None = None  # an SMTP answer to give instead of 250

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.refuse is not None:
            return self.refuse
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        self.received.append((envelope, parsed))
        async with self.arrived:
            self.arrived.notify_all()
        return "250 OK"

    async def wait_for(self, count: int, within: float = 10) -> list[EmailMessage]:
        async with asyncio.timeout(within), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)
        return [message for _, message in self.received]


@contextlib.asynccontextmanager
async def outbox_server() -> AsyncIterator[tuple[Outbox, int]]:
    outbox = Outbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(outbox, enable_SMTPUTF8=True), "127.0.0.1", 0)
    try:
        yield outbox, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
