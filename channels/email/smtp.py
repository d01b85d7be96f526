"""The inbound SMTP listener (aiosmtpd), for an MX or a relay delivering to the hub.

    RCPT   only configured support mailboxes or domains (550 otherwise: never an open relay),
           at most `max_recipients` per message (452)
    DATA   over `max_message_bytes`: 552 (aiosmtpd counts while reading);
           else parse -> blobs -> one ticket message per mailbox -> 250 after every commit

Every failure is answered deliberately by `smtp_reply`, the one place that maps the error
tree to SMTP codes: aiosmtpd would answer an unhandled exception with a 500, which makes the
sending server bounce the mail to the customer. A message the MIME parser cannot read is not
refused: it is stored raw and ticketed as unparsable. The listener runs on the hub's own
event loop, so contacts reach the store without crossing threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog
from aiohttp import web
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from channels.base import Sink
from channels.email.intake import BlobWriter, EmailIntake
from channels.email.mime import NAME, MimeLimits
from channels.email.smtp_data import read_data
from core.errors import ChannelError, ListenError, PayloadTooLarge, StorageError, StorageUnavailable

log = structlog.get_logger("contacthub.email.smtp")
_PLAIN_PATH = re.compile(
    r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)>"
)


def smtp_reply(exc: BaseException) -> str:
    """The SMTP answer to a failed DATA: 4xx makes the sender retry, 5xx makes it bounce."""
    if isinstance(exc, StorageUnavailable):
        return "451 4.3.0 Storage unavailable, please try again later"
    if isinstance(exc, StorageError):
        return "451 4.3.0 Temporary storage failure, please try again later"
    if isinstance(exc, PayloadTooLarge):
        return "552 5.3.4 Message too big"
    if isinstance(exc, ChannelError):
        return f"554 5.6.0 Message refused: {exc.message[:200]}"
    return "451 4.3.0 Temporary failure, please try again later"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    mailboxes: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    hostname: str | None = None
    max_message_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 50
    tls_context: ssl.SSLContext | None = None
    require_starttls: bool = False
    timeout: float = 300.0
    limits: MimeLimits = field(default_factory=MimeLimits)
    reuse_port: bool = False  # several processes listen on the port (`serve --workers`)

    def accepts(self, address: str) -> bool:
        address = address.strip().strip("<>").lower()
        domain = address.rpartition("@")[2]
        return address in self.mailboxes or (bool(domain) and domain in self.domains)


class _ListenerSMTP(SMTP):
    """aiosmtpd's session with three changes. Lines: RFC 5321 caps them at 1000 octets, but
    real mail breaks it (HTML on one line) and MTAs such as Postfix pass it on; aiosmtpd would
    answer 500 and make the relay bounce it. Addresses: aiosmtpd parses every MAIL and RCPT
    path with the email package's header parser and defines a typing.Protocol class on each
    call, about a quarter of a session's CPU; a plain `<local@domain>` path (dot-atom, no
    quoting, no domain literal) is read directly, anything else still goes the full way.
    DATA: read through its ending at once, not a line at a time
    (channels/email/smtp_data.py), with aiosmtpd's replies and its ending rule."""

    line_length_limit = 1024 * 1024

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802  # aiosmtpd's command name
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if self.envelope is None or not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            limit = self.data_size_limit or sys.maxsize  # aiosmtpd: 0 or None, no limit
            data = await read_data(self._reader, limit, self.line_length_limit)
        except asyncio.CancelledError:  # the connection went during DATA (as aiosmtpd does)
            self._writer.close()
            raise
        if data.refusal is not None:
            await self.push(data.refusal)
            self._set_post_data_state()  # type: ignore[no-untyped-call]  # aiosmtpd's
            return
        # decode_data is never set here: the content stays bytes, as the handler takes it
        self.envelope.content = self.envelope.original_content = data.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # aiosmtpd's
        await self.push("250 OK" if status is MISSING else status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_PATH.match(arg.lstrip())
        rest = arg.lstrip()[plain.end() :].lstrip() if plain else ""
        if plain is None or rest.startswith("("):  # a comment after the path: the full parser
            return super()._getaddr(arg)
        address = plain.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest


class _Handler:
    """aiosmtpd's hooks: RCPT decides who we accept, DATA ingests."""

    def __init__(self, config: SmtpConfig, intake: EmailIntake) -> None:
        self.config = config
        self.intake = intake

    async def handle_RCPT(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.config.accepts(address):
            return "550 5.1.1 No such mailbox here (relaying denied)"
        if len(envelope.rcpt_tos) >= self.config.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):  # only with decode_data=True, which the listener never sets
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            parsed = await self.intake.parse(raw, envelope.mail_from or "")
            results = await self.intake.deliver(parsed, envelope.rcpt_tos)
        except Exception as exc:  # noqa: BLE001  # the top of the session: answer, never 500
            reply = smtp_reply(exc)
            log.warning("smtp_data_refused", reply=reply[:3], error=f"{type(exc).__name__}")
            return reply
        return "250 2.0.0 OK ticket " + ", ".join(f"#{r.ticket_id}" for r in results)


@dataclass
class SmtpChannel:
    config: SmtpConfig
    write_blobs: BlobWriter
    name: ClassVar[str] = NAME
    address: tuple[str, int] | None = field(default=None, init=False)

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        return []

    def _protocol(self, handler: _Handler) -> SMTP:
        config = self.config
        options: dict[str, Any] = {
            "data_size_limit": config.max_message_bytes,
            "enable_SMTPUTF8": True,
            "decode_data": False,
            "timeout": config.timeout,
        }
        if config.hostname:
            options["hostname"] = config.hostname
        if config.tls_context is not None:
            options["tls_context"] = config.tls_context
            options["require_starttls"] = config.require_starttls
        return _ListenerSMTP(handler, **options)

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        intake = EmailIntake(sink, self.write_blobs, self.config.limits)
        handler = _Handler(self.config, intake)
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: self._protocol(handler),
                self.config.host,
                self.config.port,
                reuse_port=self.config.reuse_port or None,
            )
        except OSError as exc:
            await asyncio.to_thread(intake.close)
            raise ListenError.from_os_error(
                "SMTP", self.config.host, self.config.port, exc, "channels.smtp.port"
            ) from exc
        self.address = server.sockets[0].getsockname()[:2]
        log.info("smtp_listening", host=self.address[0], port=self.address[1])
        try:
            yield
        finally:
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)
            await asyncio.to_thread(intake.close)
            self.address = None
