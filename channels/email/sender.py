"""Replies and acknowledgements by email, through the configured SMTP relay
(channels/email/relay.py speaks SMTP to it).

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

Speed (issue #20: an acknowledgement for almost every new email ticket):
- at most `connections` sessions with the relay at once, kept open between sends (closed
  with the sender's `serve()`); a send waits for one rather than opening another. A session
  per message costs a connect, greeting and EHLO, and when more sends were under way than
  sessions were kept, a third of the acknowledgements opened one of their own;
- a message whose headers are all ASCII (the subject may not be) is written straight to the
  bytes the email package's compat32 generator would write for it (a test holds them equal),
  folding only a header too long for its line with the email package's Header: the message
  object, the generator, and the relay client reading the recipients back out of it cost
  ~7 % of the hub's CPU per email. For an address in Unicode, `policy.default` builds it;
- the relay client is our own (channels/email/relay.py), PIPELINING where the relay offers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime
from typing import ClassVar

from channels.email.mime import NAME, make_message_id
from channels.email.relay import (
    Endpoint,
    RelayDisconnected,
    RelayRefused,
    RelaySession,
    RelayUnavailable,
)
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
    connections: int = 4  # relay sessions at once, kept open between sends
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)  # default: the system's
    name: ClassVar[str] = NAME
    _idle: list[RelaySession] = field(default_factory=list, repr=False, compare=False)
    _turns: asyncio.Semaphore | None = field(default=None, repr=False, compare=False)
    _automatic_turns: asyncio.Semaphore | None = field(default=None, repr=False, compare=False)

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
        provider_id = mail.message_id
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
    ) -> Outgoing:
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
        envelope = (headers["From"], headers["To"], headers["Message-ID"])
        if all(v.isascii() for k, v in headers.items() if k != "Subject"):
            return Outgoing(*envelope, plain_message(headers, body), automatic)
        mail = EmailMessage()  # an address in Unicode (SMTPUTF8): the full policy encodes it
        for key, value in headers.items():
            mail[key] = value
        mail.set_content(body)
        return Outgoing(*envelope, mail, automatic)

    async def _attempt(self, mail: Outgoing) -> tuple[bool, str]:
        """(final, reason): a 5xx or success is final; a 4xx or no connection is not."""
        try:
            await self._send(mail)
        except RelayRefused as exc:
            if exc.recipient:
                return exc.final, f"smtp: recipient refused [{exc.code}]"
            return exc.final, f"smtp {exc.code}: {exc.text[:200]}"
        except RelayUnavailable as exc:
            return False, f"smtp relay unreachable: {exc}"[:300]
        return True, ""

    async def _send(self, mail: Outgoing) -> None:
        """When one of the `connections` is free (acknowledgements may hold all but one of
        them, so an agent's reply never waits behind a burst of them): on a session kept from
        an earlier send (one the relay has closed meanwhile is dropped for the next), else on
        a new one; a session that failed is not kept."""
        if self._turns is None or self._automatic_turns is None:
            self._turns = asyncio.Semaphore(self.connections)
            self._automatic_turns = asyncio.Semaphore(max(1, self.connections - 1))
        queue = self._automatic_turns if mail.automatic else contextlib.nullcontext()
        async with queue, self._turns:
            await self._on_a_session(mail)

    async def _on_a_session(self, mail: Outgoing) -> None:
        while self._idle:
            session = self._idle.pop()
            if not session.usable:
                session.close()
                continue
            try:
                await mail.send(session)
            except RelayDisconnected:  # dropped by the relay while kept: the next one
                session.close()
                continue
            finally:
                self._keep(session)
            return
        session = await RelaySession.open(self._endpoint())
        try:
            await mail.send(session)
        finally:
            self._keep(session)

    def _endpoint(self) -> Endpoint:
        return Endpoint(self.host, self.port, self.use_tls, self.start_tls, self.username,
                        self.password, self.timeout, self.tls_context)  # fmt: skip

    def _keep(self, session: RelaySession) -> None:
        if session.usable and len(self._idle) < self.connections:
            self._idle.append(session)
        else:
            session.close()

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the kept sessions: QUIT, briefly
            idle, self._idle[:] = list(self._idle), []
            await asyncio.gather(*(session.quit() for session in idle))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A composed message: the envelope, and the bytes (or, for an address in Unicode, the
    message, written with SMTPUTF8 when it is sent)."""

    sender: str
    to: str
    message_id: str
    content: bytes | EmailMessage
    automatic: bool = False  # an acknowledgement: it gives way to replies for a session

    async def send(self, session: RelaySession) -> None:
        if isinstance(self.content, bytes):
            await session.send(self.sender, [self.to], self.content)
            return
        utf8 = not (self.sender.isascii() and self.to.isascii())
        content = self.content.as_bytes(policy=SMTPUTF8 if utf8 else SMTP)
        await session.send(self.sender, [self.to], content)


def plain_message(headers: dict[str, str], body: str) -> bytes:
    """A text/plain message as compat32's generator writes it (CRLF line endings): headers as
    given (ASCII; the subject as an encoded-word when it is not), the body 7-bit ASCII when
    its lines fit SMTP's 998 octets, else quoted-printable UTF-8."""
    seven_bit = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    if seven_bit:
        charset, encoding = "us-ascii", "7bit"
    else:
        charset, encoding, body = "utf-8", "quoted-printable", _UTF8_QP.body_encode(body) or ""
    lines = [_header(name, value) for name, value in headers.items()]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: text/plain; charset="{charset}"',
        f"Content-Transfer-Encoding: {encoding}",
        "",
        _FROM_LINE.sub(">From ", body) if "From " in body else body,  # the generator's mbox habit
    ]
    return _LINE_END.sub("\r\n", "\n".join(lines)).encode("ascii")


def _header(name: str, value: str) -> str:
    """One header as compat32 folds it at 78 characters; most need no folding."""
    if not value.isascii():
        return f"{name}: {Header(value, 'utf-8').encode(maxlinelen=78)}"
    if len(name) + 2 + len(value) <= 78 and _UNFOLDED.fullmatch(value):
        return f"{name}: {value}"
    return f"{name}: {Header(value, header_name=name).encode(maxlinelen=78)}"


_UNFOLDED = re.compile(r"[!-~]+(?: [!-~]+)*")  # single spaces between printable words
_FROM_LINE = re.compile(r"^From ", re.MULTILINE)
_LINE_END = re.compile(r"\r\n|\r|\n")
