"""The relay client (channels/email/relay.py) against real aiosmtpd relays: PIPELINING when the
relay offers it and one command at a time when not, STARTTLS and implicit TLS with AUTH PLAIN
and LOGIN, refusals (final or tried again) that leave the session fit to keep, dot-stuffing,
addresses in Unicode, and a relay that is not there."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.email.sender import SmtpSender
from core.errors import ConfigError
from hub.settings.tree import parse_settings
from hub.wiring.email import email_sender
from tests.channels.test_email_sender_connections import TICKET
from tests.support import free_port

USER, PASSWORD = "hub", "s3cret"


class Relay:
    """A real SMTP relay that keeps what it was sent and can refuse or offer more."""

    def __init__(self, *, pipelining: bool = False) -> None:
        self.pipelining = pipelining
        self.sessions = 0
        self.received: list[Envelope] = []
        self.rcpt_answers: list[str] = []  # given in turn instead of 250, while there are any
        self.data_answers: list[str] = []
        self.chunks: list[bytes] = []  # what arrived, read by read
        self.signed_in: list[str] = []

    async def handle_EHLO(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        self.sessions += 1
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str:  # fmt: skip
        if self.rcpt_answers:
            return self.rcpt_answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_answers:
            return self.data_answers.pop(0)
        self.received.append(envelope)
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
        if ok:
            self.signed_in.append(mechanism)
        return AuthResult(success=ok, handled=False)  # handled: aiosmtpd answers 235 or 535


class _Recording(SMTP):
    """aiosmtpd's session, keeping each read as it came (to see what was pipelined)."""

    def __init__(self, relay: Relay, **options: Any) -> None:
        super().__init__(relay, **options)
        self.relay = relay

    def data_received(self, data: bytes) -> None:
        self.relay.chunks.append(data)
        super().data_received(data)


@contextlib.asynccontextmanager
async def relay_on(
    relay: Relay, tls: ssl.SSLContext | None = None, **options: Any
) -> AsyncIterator[int]:
    """The relay on a free port: `tls` makes it implicit TLS; `options` are aiosmtpd's."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Recording(relay, hostname="relay.example", **options), "127.0.0.1", 0, ssl=tls
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("relay-tls")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-days", "2", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def send(sender: SmtpSender, body: str = "Thank you.", to: str | None = None) -> Any:
    async with sender.serve():
        return await sender.deliver(TICKET, 1, body, automatic=True, to=to)


async def test_mail_rcpt_and_data_go_in_one_write_where_the_relay_offers_pipelining() -> None:
    relay = Relay(pipelining=True)
    async with relay_on(relay) as port:
        delivery = await send(SmtpSender(port=port))
    assert delivery.status == "sent", delivery.error
    pipelined = [c for c in relay.chunks if c.startswith(b"MAIL FROM:")]
    assert pipelined == [
        b"MAIL FROM:<support@hub.example>\r\nRCPT TO:<ada@example.com>\r\nDATA\r\n"
    ]
    assert [e.rcpt_tos for e in relay.received] == [["ada@example.com"]]


async def test_one_command_at_a_time_where_it_does_not() -> None:
    relay = Relay()
    async with relay_on(relay) as port:
        delivery = await send(SmtpSender(port=port))
    assert delivery.status == "sent", delivery.error
    commands = [c for c in relay.chunks if c.startswith((b"MAIL", b"RCPT", b"DATA"))]
    assert commands == [b"MAIL FROM:<support@hub.example>\r\n", b"RCPT TO:<ada@example.com>\r\n",
                        b"DATA\r\n"]  # fmt: skip


@pytest.mark.parametrize("pipelining", [False, True])
async def test_a_refused_recipient_is_final_and_the_session_is_kept(pipelining: bool) -> None:
    relay = Relay(pipelining=pipelining)
    relay.rcpt_answers = ["550 5.1.1 No such user"]
    async with relay_on(relay) as port:
        sender = SmtpSender(port=port)
        async with sender.serve():
            refused = await sender.deliver(TICKET, 1, "one", automatic=True)
            sent = await sender.deliver(TICKET, 2, "two", automatic=True)
    assert (refused.status, refused.error) == ("failed", "smtp: recipient refused [550]")
    assert sent.status == "sent", sent.error
    assert relay.sessions == 1  # RSET after the refusal, then the next message on it
    assert len(relay.received) == 1


async def test_a_busy_relay_is_tried_again_and_a_refusal_is_not() -> None:
    relay = Relay(pipelining=True)
    relay.data_answers = ["451 4.3.0 Try again later"]
    async with relay_on(relay) as port:
        busy = await send(SmtpSender(port=port, backoff=0))
        relay.data_answers = ["554 5.7.1 Rejected by policy"]
        refused = await send(SmtpSender(port=port, backoff=0))
    assert busy.status == "sent", busy.error
    assert (refused.status, refused.error) == ("failed", "smtp 554: 5.7.1 Rejected by policy")
    assert len(relay.received) == 1


async def test_starttls_then_auth_plain(certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    tls = server_context(certificate)
    options: dict[str, Any] = {"require_starttls": True, "auth_require_tls": True}
    async with relay_on(
        relay, tls_context=tls, authenticator=relay.authenticate, **options
    ) as port:
        sender = SmtpSender(host="localhost", port=port, start_tls=True, username=USER,
                            password=PASSWORD, tls_context=client_context(certificate))  # fmt: skip
        delivery = await send(sender)
    assert delivery.status == "sent", delivery.error
    assert relay.signed_in == ["PLAIN"]
    assert b"STARTTLS\r\n" in relay.chunks  # before any AUTH and MAIL: the relay requires it


async def test_implicit_tls_then_auth_login(certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    tls = server_context(certificate)
    # aiosmtpd counts only its own STARTTLS as TLS, so it is told AUTH needs none
    login: dict[str, Any] = {"auth_exclude_mechanism": ["PLAIN"], "auth_require_tls": False}
    async with relay_on(relay, tls=tls, authenticator=relay.authenticate, **login) as port:
        sender = SmtpSender(host="localhost", port=port, use_tls=True, username=USER,
                            password=PASSWORD, tls_context=client_context(certificate))  # fmt: skip
        delivery = await send(sender)
    assert delivery.status == "sent", delivery.error
    assert relay.signed_in == ["LOGIN"]


async def test_a_wrong_password_is_final(certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    tls = server_context(certificate)
    async with relay_on(relay, tls_context=tls, authenticator=relay.authenticate) as port:
        sender = SmtpSender(host="localhost", port=port, start_tls=True, username=USER,
                            password="wrong", tls_context=client_context(certificate))  # fmt: skip
        delivery = await send(sender)
    assert delivery.status == "failed"
    assert delivery.error.startswith("smtp 535")
    assert relay.received == []


async def test_an_untrusted_certificate_is_not_talked_to(certificate: tuple[Path, Path]) -> None:
    relay = Relay()
    async with relay_on(relay, tls_context=server_context(certificate)) as port:
        sender = SmtpSender(host="localhost", port=port, start_tls=True, attempts=1)
        delivery = await send(sender)  # the system's trusted certificates: not ours
    assert delivery.status == "failed"
    assert delivery.error.startswith("smtp relay unreachable: SSLCertVerificationError")
    assert relay.received == []


async def test_lines_starting_with_a_dot_arrive_as_written() -> None:
    relay = Relay(pipelining=True)
    body = ".hidden\n..two dots\nend\n."
    async with relay_on(relay) as port:
        delivery = await send(SmtpSender(port=port), body)
    assert delivery.status == "sent", delivery.error
    content = relay.received[0].original_content or b""
    parsed = message_from_bytes(content, policy=policy.default)
    assert parsed.get_content().replace("\r\n", "\n").rstrip("\n") == body


async def test_an_address_in_unicode_needs_a_relay_that_takes_it() -> None:
    relay = Relay(pipelining=True)
    async with relay_on(relay, enable_SMTPUTF8=True) as port:
        delivery = await send(SmtpSender(port=port), to="zoë@exämple.com")
    assert delivery.status == "sent", delivery.error
    assert relay.received[0].rcpt_tos == ["zoë@exämple.com"]
    assert "SMTPUTF8" in relay.received[0].mail_options
    plain = Relay()
    async with relay_on(plain) as port:
        refused = await send(SmtpSender(port=port), to="zoë@exämple.com")
    assert (refused.status, refused.error[:8]) == ("failed", "smtp 553")
    assert plain.received == []


async def test_a_relay_that_is_not_there_is_tried_again_then_failed() -> None:
    sender = SmtpSender(port=free_port(), attempts=2, backoff=0)
    delivery = await send(sender)
    assert delivery.status == "failed"
    assert delivery.error.startswith("smtp relay unreachable: ConnectionRefusedError")
    assert delivery.error.endswith("(after 2 attempts)")


async def test_a_relay_signed_by_our_own_ca_is_trusted_through_ca_file(
    certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    relay = Relay()
    tls = server_context(certificate)
    async with relay_on(relay, tls_context=tls, require_starttls=True) as port:
        section = {"host": "localhost", "port": port, "starttls": True}
        trusting = relay_settings({**section, "ca_file": str(certificate[0])}, tmp_path)
        delivery = await send(trusting)
        untrusting = relay_settings({**section, "send_attempts": 1}, tmp_path)
        refused = await send(untrusting)  # the system's CAs do not know this certificate
    assert delivery.status == "sent", delivery.error
    assert refused.error.startswith("smtp relay unreachable: SSLCertVerificationError")
    assert len(relay.received) == 1
    with pytest.raises(ConfigError, match=r"outbound\.smtp: cannot load ca_file"):
        relay_settings({**section, "ca_file": str(tmp_path / "missing.pem")}, tmp_path)


def relay_settings(section: dict[str, Any], base: Path) -> SmtpSender:
    raw = {"channels": {"smtp": {"mailboxes": ["support@hub.example"]}},
           "outbound": {"smtp": section}}  # fmt: skip
    sender = email_sender(parse_settings(raw, {}, base=base))
    assert sender is not None
    return sender


class HoldingRelay(Relay):
    """A relay that holds acknowledgements (auto-replied mail) until told to let them go."""

    def __init__(self) -> None:
        super().__init__(pipelining=True)
        self.release = asyncio.Event()

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if b"Auto-Submitted: auto-replied" in (envelope.original_content or b""):
            await self.release.wait()
        return await super().handle_DATA(server, session, envelope)


async def test_an_agents_reply_never_waits_behind_acknowledgements() -> None:
    relay = HoldingRelay()
    async with relay_on(relay) as port:
        sender = SmtpSender(port=port, connections=2)
        async with sender.serve():
            acknowledgements = [
                asyncio.create_task(sender.deliver(TICKET, n, f"ack {n}", automatic=True))
                for n in range(5)
            ]
            await asyncio.sleep(0.1)  # the first has its session and is held there
            reply = await asyncio.wait_for(
                sender.deliver(TICKET, 9, "We are on it.", automatic=False), 5
            )
            assert reply.status == "sent", reply.error
            assert not any(task.done() for task in acknowledgements)
            relay.release.set()
            sent = await asyncio.gather(*acknowledgements)
    assert [d.status for d in sent] == ["sent"] * 5
    assert relay.sessions == 2  # one the acknowledgements took turns on, one for the reply
