"""The relay client against a real MTA: Debian's Postfix (tests/hub/postfix.py), which offers
PIPELINING as production relays do, relays the customer's domain on to a local sink. Mail
sent pipelined arrives whole and once; a recipient Postfix refuses is failed for good, and
the session goes on to carry the next message."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from channels.email.relay import Endpoint, RelaySession
from channels.email.sender import SmtpSender
from tests.channels.test_email_sender_connections import TICKET
from tests.hub.email_support import Outbox, outbox_server
from tests.hub.postfix import Postfix, require_root

pytestmark = pytest.mark.slow
REFUSED = "refused@example.com"
REFUSING = (
    f"smtpd_recipient_restrictions = check_recipient_access inline:{{ {REFUSED}=REJECT }}, "
    "permit_mynetworks, reject_unauth_destination\n"
)


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A directory the postfix user can reach (pytest's temp dirs are root's alone)."""
    root = Path(tempfile.mkdtemp(prefix="contacthub-postfix-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def relayed(reachable: Path) -> AsyncIterator[tuple[Postfix, Outbox]]:
    require_root()
    async with outbox_server() as (outbox, sink_port):
        postfix = Postfix(reachable / "mta", "example.com", sink_port, REFUSING)
        await asyncio.to_thread(postfix.start)
        try:
            yield postfix, outbox
        finally:
            await asyncio.to_thread(postfix.stop)


async def test_pipelined_mail_through_postfix_arrives_whole_and_once(
    relayed: tuple[Postfix, Outbox],
) -> None:
    postfix, outbox = relayed
    session = await RelaySession.open(Endpoint(port=postfix.port, timeout=10))
    assert "PIPELINING" in session.extensions
    await session.quit()
    sender = SmtpSender(port=postfix.port, connections=2)
    bodies = [f"Réponse {n}\n.\n..dots" for n in range(6)]
    async with sender.serve():
        deliveries = await asyncio.gather(
            *(sender.deliver(TICKET, n, body, automatic=True) for n, body in enumerate(bodies))
        )
    assert [d.status for d in deliveries] == ["sent"] * 6, [d.error for d in deliveries]
    received = await outbox.wait_for(6, within=30)
    texts = sorted(m.get_content().replace("\r\n", "\n").rstrip("\n") for m in received)
    assert texts == sorted(bodies)
    ids = {str(m["Message-ID"]) for m in received}
    assert ids == {d.provider_id for d in deliveries}  # each once, as it was sent


async def test_a_recipient_postfix_refuses_is_failed_for_good_and_the_session_goes_on(
    relayed: tuple[Postfix, Outbox],
) -> None:
    postfix, outbox = relayed
    sender = SmtpSender(port=postfix.port, connections=1, attempts=1)
    async with sender.serve():
        refused = await sender.deliver(TICKET, 1, "no", automatic=True, to=REFUSED)
        sent = await sender.deliver(TICKET, 2, "yes", automatic=True)
    assert refused.status == "failed"
    assert refused.error.startswith("smtp: recipient refused [5"), refused.error
    assert sent.status == "sent", sent.error
    received = await outbox.wait_for(1, within=30)
    assert [m.get_content().strip() for m in received] == ["yes"]
    sessions = await sessions_logged(postfix)
    assert len(sessions) == 1, postfix.log  # both messages on one session: RSET between them
    assert "mail=2 rcpt=1/2 data=1/2 rset=1 quit=1" in sessions[0]


async def sessions_logged(postfix: Postfix, within: float = 15) -> list[str]:
    """Postfix's summary lines of the finished sessions that said EHLO (its log is written
    by another of its processes, a moment after the session ends)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        lines = [line for line in postfix.log.splitlines() if "disconnect from" in line]
        sessions = [line for line in lines if "ehlo=" in line]
        if sessions or asyncio.get_running_loop().time() > deadline:
            return sessions
        await asyncio.sleep(0.1)
