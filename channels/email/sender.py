"""Replies and acknowledgements by email, through the configured SMTP relay (aiosmtplib).

A reply goes From the support mailbox the customer wrote to, To the customer's address,
with the ticket token in the subject (`Re: Order late [#42]`), In-Reply-To and References
naming the customer's messages, and our own Message-ID
`<contacthub.<ticket>.<message>.<random>@<domain>>`. That Message-ID is the Delivery's
provider id, so the store records it on the message (a bounce naming it marks the reply
failed), and the MIME parser turns a reply that refers to it into the `ticket:<id>` thread key.

Acknowledgements carry `Auto-Submitted: auto-replied` (RFC 3834), so well-behaved
autoresponders do not answer them. 4xx answers and connection failures are tried again with
backoff; a 5xx refusal is final. Either way a failure is a failed Delivery with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import ClassVar

import aiosmtplib

from channels.email.mime import NAME, make_message_id
from core.errors import Conflict, InvalidRequest
from core.identity import EMAIL
from core.model import Delivery, Direction, Identity, Message, Ticket

MAX_BODY_CHARS = 100_000
_SUBJECT_NOISE = re.compile(r"^\s*((re|aw|fwd?|sv)\s*:\s*)+|\s*\[#\d+\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Thread:
    """Where a reply goes and what it refers to, read from the ticket's inbound messages."""

    customer: str
    mailbox: str
    in_reply_to: str
    references: tuple[str, ...]


def reply_thread(ticket: Ticket) -> Thread:
    inbound = [
        m
        for m in ticket.messages
        if m.direction is Direction.INBOUND and m.sender.startswith(f"{EMAIL}:")
    ]
    reachable = [m for m in inbound if not m.sender.endswith("@invalid")]
    if not reachable:
        raise Conflict(f"ticket {ticket.id} has no email from an address to reply to")
    last = reachable[-1]
    ids = [m.external_id for m in inbound if m.external_id.startswith("<")]
    return Thread(
        customer=last.sender.partition(":")[2],
        mailbox=last.recipient,
        in_reply_to=last.external_id if last.external_id.startswith("<") else "",
        references=tuple(dict.fromkeys(ids))[-10:],
    )


def reply_subject(ticket: Ticket) -> str:
    subject = _SUBJECT_NOISE.sub("", ticket.subject).strip() or "Your request"
    return f"Re: {subject} [#{ticket.id}]"


@dataclass(slots=True)
class SmtpSender:
    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False
    start_tls: bool = False
    timeout: float = 30.0
    attempts: int = 3
    backoff: float = 1.0
    from_address: str | None = None
    message_id_domain: str | None = None
    name: ClassVar[str] = NAME

    def recipient(self, ticket: Ticket, body: str) -> Identity:
        if not body.strip():
            raise InvalidRequest("body must not be empty")
        if len(body) > MAX_BODY_CHARS:
            raise InvalidRequest(f"an email reply holds at most {MAX_BODY_CHARS} characters")
        return Identity(EMAIL, reply_thread(ticket).customer)

    async def send(self, ticket: Ticket, message: Message) -> Delivery:
        return await self.deliver(ticket, message.id, message.body, automatic=False)

    async def deliver(
        self, ticket: Ticket, message_id: int, body: str, *, automatic: bool
    ) -> Delivery:
        mail = self.compose(ticket, message_id, body, automatic=automatic)
        provider_id = str(mail["Message-ID"])
        reason = "not sent"
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            final, reason = await self._attempt(mail)
            if final:
                return Delivery("failed" if reason else "sent", provider_id, reason)
        return Delivery("failed", provider_id, f"{reason} (after {self.attempts} attempts)")

    def compose(
        self, ticket: Ticket, message_id: int, body: str, *, automatic: bool
    ) -> EmailMessage:
        thread = reply_thread(ticket)
        origin = self.from_address or thread.mailbox
        if not origin:
            raise Conflict(f"ticket {ticket.id}: no mailbox to reply from (set from_address)")
        domain = self.message_id_domain or origin.rpartition("@")[2] or "localhost"
        mail = EmailMessage()
        mail["From"], mail["To"] = origin, thread.customer
        mail["Subject"] = reply_subject(ticket)
        mail["Message-ID"] = make_message_id(ticket.id, message_id, secrets.token_hex(4), domain)
        mail["Date"] = format_datetime(datetime.now(UTC))
        if thread.in_reply_to:
            mail["In-Reply-To"] = thread.in_reply_to
        if thread.references:
            mail["References"] = " ".join(thread.references)
        if automatic:
            mail["Auto-Submitted"] = "auto-replied"
            mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(body)
        return mail

    async def _attempt(self, mail: EmailMessage) -> tuple[bool, str]:
        """(final, reason): a 5xx or success is final; a 4xx or no connection is not."""
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return all(code >= 500 for code in codes), f"smtp: recipient refused {codes}"
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code >= 500, f"smtp {exc.code}: {exc.message[:200]}"
        except (aiosmtplib.SMTPException, OSError) as exc:
            return False, f"smtp relay unreachable: {type(exc).__name__}"
        return True, ""

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        yield  # one connection per message: nothing held between sends
