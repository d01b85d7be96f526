"""The demo's email traffic: messages delivered to the hub's SMTP listener as a relay would
(smtplib), and a local SMTP server standing in for the outbound relay, which catches the
acknowledgements the hub sends."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from rich.markup import escape

SUPPORT = "support@demo.example"


def sections(workdir: Path, relay_port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(channels.smtp, outbound) settings: the listener on a free port, the stand-in relay."""
    smtp = {"port": 0, "mailboxes": [SUPPORT]}
    outbound = {"smtp": {"port": relay_port, "send_backoff": 0}}
    return smtp, outbound


def _mail(
    body: str, message_id: str, subject: str = "Kettle not delivered", **headers: str
) -> bytes:
    message = EmailMessage()
    message["From"] = "Ada Lovelace <ada@example.com>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


MESSAGES: tuple[tuple[str, bytes, str], ...] = (
    ("email from ada", _mail("My kettle (order 1042) never arrived.", "<k1@example.com>"), SUPPORT),
    ("email reply (In-Reply-To)", _mail("It was the blue one.", "<k2@example.com>",
                                        "Re: Kettle", In_Reply_To="<k1@example.com>"), SUPPORT),
    ("email retry (same Message-ID)", _mail("My kettle (order 1042) never arrived.",
                                            "<k1@example.com>"), SUPPORT),
    ("email out-of-office (automatic)", _mail("I am away until Monday.", "<oof@example.com>",
                                              "Out of office", Auto_Submitted="auto-replied"),
     SUPPORT),
    ("email to an unknown mailbox", _mail("hello", "<k3@example.com>"), "nobody@demo.example"),
)  # fmt: skip


def _deliver(port: int) -> list[tuple[str, int, str]]:
    """(label, SMTP code, answer) for each demo message, over one SMTP session."""
    answers = []
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        for label, raw, recipient in MESSAGES:
            try:
                client.sendmail("ada@example.com", [recipient], raw)
                code, text = 250, "accepted after the commit"
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = exc.recipients[recipient]
                text = reply.decode(errors="replace")
            except smtplib.SMTPResponseException as exc:
                code, text = exc.smtp_code, str(exc.smtp_error)
                client.rset()
            answers.append((label, code, text))
    return answers


async def deliver(port: int) -> list[tuple[str, int, str]]:
    return await asyncio.to_thread(_deliver, port)


@dataclass
class Relay:
    """Catches what the hub sends out (acknowledgements, replies)."""

    sent: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.sent.append(
            message_from_bytes(envelope.original_content or b"", policy=policy.default)
        )
        return "250 OK"

    def summary(self) -> str:
        lines = [f"email sent by the hub through the relay: {len(self.sent)}"]
        lines += [f"  to {m['To']}: {m['Subject']} ({m['Auto-Submitted']})" for m in self.sent]
        return escape("\n".join(lines))  # "[#8]" is a ticket token, not rich markup


@contextlib.asynccontextmanager
async def relay() -> AsyncIterator[tuple[Relay, int]]:
    caught = Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(caught), "127.0.0.1", 0)
    try:
        yield caught, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
