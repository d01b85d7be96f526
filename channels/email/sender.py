"""Replies and acknowledgements by email, through the configured SMTP relay (aiosmtplib).

A reply goes From the support mailbox the customer wrote to (else `from_address`, else the
hub's first mailbox: a web form names none), To the customer's newest address on the
ticket, with the ticket token in the subject (`Re: Order late [#42]`) and our own Message-ID
`<contacthub.<ticket>.<message>.<random>@<domain>>`. In-Reply-To names the customer's newest
email, else our newest reply (a web form's ticket: the first reply starts the thread, the
next ones continue it); References lists the conversation, theirs and our replies that went
out. That Message-ID is the Delivery's provider id, so the store records it on the message (a
bounce naming it marks the reply failed), and the MIME parser turns a reply that refers to it
into the `ticket:<id>` thread key, which brings the customer's answer back to this ticket.

Acknowledgements carry `Auto-Submitted: auto-replied` (RFC 3834), so well-behaved
autoresponders do not answer them. 4xx answers and connection failures are tried again with
backoff; a 5xx refusal is final. Either way a failure is a failed Delivery with the reason.

Speed (issue #20: an acknowledgement for almost every new email ticket): connections to the
relay are kept open between sends (at most `max_idle`, closed with the sender's `serve()`),
since a session per message cost a connect, EHLO and QUIT each; and a message whose headers
are all ASCII but the subject is composed with the email package's compat32 policy, whose
headers are plain strings, where `policy.default` parses every header it is given (a fifth
of the hub's CPU per email went to that).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.message import Message as Mime
from email.utils import format_datetime
from typing import ClassVar

import aiosmtplib

from channels.email.mime import NAME, make_message_id
from core.errors import Conflict, InvalidRequest
from core.identity import EMAIL
from core.model import FAILED_DELIVERY, Delivery, Direction, Identity, Message, Ticket

MAX_BODY_CHARS = 100_000
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in the raw message, like EmailMessage.set_content
_SUBJECT_NOISE = re.compile(r"^\s*((re|aw|fwd?|sv)\s*:\s*)+|\s*\[#\d+\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Thread:
    """Where a reply goes and what it refers to, read from the ticket's messages."""

    customer: str  # "" when the customer never wrote from an address on the ticket
    mailbox: str
    in_reply_to: str
    references: tuple[str, ...]


def reply_thread(ticket: Ticket) -> Thread:
    written = [
        m
        for m in ticket.messages
        if m.direction is Direction.INBOUND and m.sender.startswith(f"{EMAIL}:")
    ]
    reachable = [m for m in written if not m.sender.endswith("@invalid")]
    theirs = [m.external_id for m in written if _in_thread(m)]
    ids = list(dict.fromkeys(m.external_id for m in ticket.messages if _in_thread(m)))
    parent = theirs or ids
    return Thread(
        customer=reachable[-1].sender.partition(":")[2] if reachable else "",
        mailbox=reachable[-1].recipient if reachable else "",
        in_reply_to=parent[-1] if parent else "",
        references=tuple(ids[-10:]),
    )


def _in_thread(message: Message) -> bool:
    """A message of the email conversation: the customer's email, or our reply that went out
    by email (acknowledgements are left out: the replies answer the customer, not them)."""
    if not message.external_id.startswith("<"):
        return False
    if message.channel != NAME:  # a web form's own ids are no Message-IDs
        return False
    if message.direction is Direction.INBOUND:
        return message.sender.startswith(f"{EMAIL}:")
    return not message.automatic and message.delivery not in FAILED_DELIVERY


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
    default_from: str | None = None  # the hub's first mailbox, for tickets that name none
    max_idle: int = 4  # relay connections kept open between sends
    name: ClassVar[str] = NAME
    _idle: list[aiosmtplib.SMTP] = field(default_factory=list, repr=False, compare=False)

    def recipient(self, ticket: Ticket, body: str, to: Identity | None = None) -> Identity:
        if not body.strip():
            raise InvalidRequest("body must not be empty")
        if len(body) > MAX_BODY_CHARS:
            raise InvalidRequest(f"an email reply holds at most {MAX_BODY_CHARS} characters")
        if to is not None and to.kind != EMAIL:
            raise Conflict(f"an email cannot reach the customer's {to.kind}")
        thread = reply_thread(ticket)
        self.origin(ticket, thread)
        return Identity(EMAIL, self.address(ticket, thread, None if to is None else to.value))

    def address(self, ticket: Ticket, thread: Thread, to: str | None) -> str:
        """The To address; Conflict when the customer never gave one."""
        address = to or thread.customer
        if not address:
            raise Conflict(f"ticket {ticket.id} has no email from an address to reply to")
        return address

    def origin(self, ticket: Ticket, thread: Thread) -> str:
        """The From address; Conflict when there is none, before anything is stored."""
        origin = self.from_address or thread.mailbox or self.default_from
        if not origin:
            raise Conflict(
                f"ticket {ticket.id}: no mailbox to reply from (set outbound.smtp.from_address)"
            )
        return origin

    async def send(self, ticket: Ticket, message: Message, to: Identity | None = None) -> Delivery:
        address = None if to is None else to.value
        return await self.deliver(ticket, message.id, message.body, automatic=False, to=address)

    async def deliver(
        self, ticket: Ticket, message_id: int, body: str, *, automatic: bool, to: str | None = None
    ) -> Delivery:
        mail = self.compose(ticket, message_id, body, automatic=automatic, to=to)
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
        self, ticket: Ticket, message_id: int, body: str, *, automatic: bool, to: str | None = None
    ) -> Mime:
        thread = reply_thread(ticket)
        origin = self.origin(ticket, thread)
        domain = self.message_id_domain or origin.rpartition("@")[2] or "localhost"
        headers = {
            "From": origin,
            "To": self.address(ticket, thread, to),
            "Subject": reply_subject(ticket),
            "Message-ID": make_message_id(ticket.id, message_id, secrets.token_hex(4), domain),
            "Date": format_datetime(datetime.now(UTC)),
        }
        if thread.in_reply_to:
            headers["In-Reply-To"] = thread.in_reply_to
        if thread.references:
            headers["References"] = " ".join(thread.references)
        if automatic:
            headers["Auto-Submitted"] = "auto-replied"
            headers["X-Auto-Response-Suppress"] = "All"
        if all(v.isascii() for k, v in headers.items() if k != "Subject"):
            return _plain_message(headers, body)
        mail = EmailMessage()  # an address in Unicode (SMTPUTF8): the full policy encodes it
        for key, value in headers.items():
            mail[key] = value
        mail.set_content(body)
        return mail

    async def _attempt(self, mail: Mime) -> tuple[bool, str]:
        """(final, reason): a 5xx or success is final; a 4xx or no connection is not."""
        try:
            await self._send(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return all(code >= 500 for code in codes), f"smtp: recipient refused {codes}"
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code >= 500, f"smtp {exc.code}: {exc.message[:200]}"
        except (aiosmtplib.SMTPException, OSError) as exc:
            return False, f"smtp relay unreachable: {type(exc).__name__}"
        return True, ""

    async def _send(self, mail: Mime) -> None:
        """On a connection kept from an earlier send (one the relay has closed meanwhile is
        dropped for the next), else on a new one; a connection that failed is not kept."""
        while self._idle:
            client = self._idle.pop()
            try:
                await client.send_message(mail)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                client.close()
                continue
            except BaseException:
                client.close()
                raise
            self._keep(client)
            return
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=self.timeout,
            local_hostname="localhost" if self.host in _LOCAL else None,
        )
        try:
            await client.connect()
            await client.send_message(mail)
        except BaseException:
            client.close()
            raise
        self._keep(client)

    def _keep(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected and len(self._idle) < self.max_idle:
            self._idle.append(client)
        else:
            client.close()

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the kept connections: QUIT, briefly
            idle, self._idle[:] = list(self._idle), []
            for client in idle:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await asyncio.wait_for(client.quit(), 2)
                client.close()


_LOCAL = frozenset({"127.0.0.1", "::1", "localhost"})


def _plain_message(headers: dict[str, str], body: str) -> Mime:
    """A text/plain message with the compat32 policy: headers kept as given (ASCII; the
    subject as an encoded-word when it is not), the body 7-bit ASCII when its lines fit
    SMTP's 998 octets, else quoted-printable UTF-8."""
    mail = Mime()
    for key, value in headers.items():
        mail[key] = value if value.isascii() else Header(value, "utf-8")  # type: ignore[assignment]
    mail["MIME-Version"] = "1.0"
    seven_bit = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    mail.set_payload(body, "us-ascii" if seven_bit else _UTF8_QP)
    return mail
