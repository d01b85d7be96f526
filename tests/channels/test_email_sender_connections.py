"""The relay sender keeps its connections between sends (one session for many messages), opens
no more than its `connections` however many sends are under way, comes back on a new one when
the relay has dropped a kept one, and QUITs them when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.sender import SmtpSender
from core.model import Direction, Message, Priority, Route, Status, Ticket
from tests.support import T0

TICKET = Ticket(
    7, Status.NEW, "email", "general", Priority.NORMAL, 1, "Commande n° 1042 — retard", T0, T0,
    Route(None, ()),
    messages=(Message(1, 7, Direction.INBOUND, "email", "hi", T0, "<m1@example.com>",
                      sender="email:ada@example.com", recipient="support@hub.example"),),
)  # fmt: skip


class Relay:
    """A real SMTP server that counts its sessions and their QUITs."""

    def __init__(self) -> None:
        self.sessions = 0
        self.quits = 0
        self.received: list[EmailMessage] = []

    async def handle_EHLO(  # noqa: N802  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_QUIT(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.quits += 1
        return "221 Bye"

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        self.received.append(message_from_bytes(raw, policy=policy.default))
        return "250 OK"


@contextlib.asynccontextmanager
async def relay_on(relay: Relay, port: int = 0) -> AsyncIterator[int]:
    sessions: list[SMTP] = []

    def session() -> SMTP:
        sessions.append(SMTP(relay))
        return sessions[-1]

    server = await asyncio.get_running_loop().create_server(session, "127.0.0.1", port)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for running in sessions:  # a relay going down drops its clients' sessions
            if running.transport is not None:
                running.transport.close()
        await server.wait_closed()


async def test_many_sends_share_one_session_quit_when_the_sender_stops() -> None:
    relay = Relay()
    async with relay_on(relay) as port:
        sender = SmtpSender(port=port)
        async with sender.serve():
            deliveries = [await sender.deliver(TICKET, n, f"Réponse {n}", automatic=True)
                          for n in range(1, 4)]  # fmt: skip
            assert relay.quits == 0
        assert [d.status for d in deliveries] == ["sent"] * 3
        assert relay.sessions == 1
        for _ in range(50):
            if relay.quits:
                break
            await asyncio.sleep(0.01)
        assert relay.quits == 1
    first = relay.received[0]
    assert first["Subject"] == "Re: Commande n° 1042 — retard [#7]"
    assert first["In-Reply-To"] == "<m1@example.com>"
    assert first["Auto-Submitted"] == "auto-replied"
    assert first.get_content().strip() == "Réponse 1"


async def test_many_sends_at_once_wait_for_the_sessions_there_are() -> None:
    relay = Relay()
    async with relay_on(relay) as port:
        sender = SmtpSender(port=port, connections=2)
        async with sender.serve():
            deliveries = await asyncio.gather(
                *(sender.deliver(TICKET, n, f"Réponse {n}", automatic=False) for n in range(1, 13))
            )
    assert [d.status for d in deliveries] == ["sent"] * 12
    assert relay.sessions == 2  # not one a send: the other ten waited for a kept session
    assert sorted(m.get_content().strip() for m in relay.received) == sorted(
        f"Réponse {n}" for n in range(1, 13)
    )


async def test_a_kept_connection_the_relay_dropped_is_replaced_and_the_mail_still_sent() -> None:
    first, second = Relay(), Relay()
    sender = SmtpSender(port=0, attempts=1)  # one attempt: the replacement is not a retry
    async with sender.serve():
        async with relay_on(first) as port:
            sender.port = port
            assert (await sender.deliver(TICKET, 1, "one", automatic=False)).status == "sent"
        async with relay_on(second, port):  # the relay restarted: the kept session is gone
            delivery = await sender.deliver(TICKET, 2, "two", automatic=False)
    assert delivery.status == "sent", delivery.error
    assert (first.sessions, second.sessions) == (1, 1)
    assert [m.get_content().strip() for m in second.received] == ["two"]
