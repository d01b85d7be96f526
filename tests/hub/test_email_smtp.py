"""The hub's SMTP listener, fed by smtplib: every corpus message ticketed, limits, 451."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import pytest

from channels.email.mime import MimeLimits, parse_email, unparsable
from core.errors import ConfigError
from core.model import TicketFilter
from hub.app import build_app
from storage.blobs import BlobStore
from tests.channels.test_email_mime import CORPUS_FILES
from tests.conftest import MakeSettings, StartHub
from tests.dovecot import self_signed_certificate
from tests.hub.email_support import (
    SALES,
    SUPPORT,
    compose,
    email_settings,
    send,
    send_many,
    smtp_port,
)
from tests.support import T0


async def test_every_corpus_message_is_ticketed(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    raws = [path.read_bytes() for path in CORPUS_FILES]
    answers = await send_many(smtp_port(hub), [(raw, [SUPPORT]) for raw in raws])
    assert answers == [250] * len(raws)
    expected = {parse_email(raw, T0).for_mailbox(SUPPORT).key for raw in raws}
    page = await hub.store.list_tickets(TicketFilter(), limit=200)
    stored = 0
    for ticket in page.items:
        stored += len((await hub.store.get_ticket(ticket.id)).messages)
    # one message per distinct message: the corpus's retransmissions (same Message-ID and
    # body, other line endings or headers) were recognised as duplicates
    assert stored == len(expected) < len(raws)


async def test_message_becomes_a_ticket_and_a_retry_is_a_duplicate(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    port = smtp_port(hub)
    raw = compose()
    assert await send(port, raw) == 250
    assert await send(port, raw) == 250  # a relay's retry after a lost 250
    page = await hub.store.list_tickets(TicketFilter())
    assert len(page.items) == 1
    ticket = await hub.store.get_ticket(page.items[0].id)
    assert (ticket.channel, ticket.subject) == ("email", "Order 1042")
    assert [m.body for m in ticket.messages] == ["My order 1042 is late."]
    assert ticket.messages[0].recipient == SUPPORT
    customer = await hub.store.get_customer(ticket.customer_id)
    assert customer.name == "Ada Lovelace"


async def test_reply_with_references_threads_onto_the_ticket(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    port = smtp_port(hub)
    await send(port, compose())
    reply = compose("Any news?", subject="Re: Order 1042", message_id="<m2@example.com>",
                    In_Reply_To="<m1@example.com>")  # fmt: skip
    await send(port, reply)
    page = await hub.store.list_tickets(TicketFilter())
    assert len(page.items) == 1
    assert len((await hub.store.get_ticket(page.items[0].id)).messages) == 2


async def test_one_ticket_message_per_support_mailbox(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    assert await send(smtp_port(hub), compose(), [SUPPORT, SALES, SUPPORT.upper()]) == 250
    page = await hub.store.list_tickets(TicketFilter())
    tickets = [await hub.store.get_ticket(t.id) for t in page.items]
    assert sorted(m.recipient for t in tickets for m in t.messages) == [SALES, SUPPORT]
    assert len(tickets) == 2  # each mailbox routes its own ticket


@pytest.mark.parametrize(
    "recipient",
    ["someone@elsewhere.example", "support@hub.example.evil", "nobody@hub.example"],
    ids=["other-domain", "lookalike-domain", "unknown-mailbox"],
)
async def test_never_an_open_relay(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, recipient: str
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    answer = await send(smtp_port(hub), compose(), [recipient])
    assert isinstance(answer, smtplib.SMTPRecipientsRefused)
    assert answer.recipients[recipient][0] == 550
    assert not (await hub.store.list_tickets(TicketFilter())).items


async def test_a_configured_domain_accepts_any_of_its_addresses(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    assert await send(smtp_port(hub), compose(), ["Billing@Help.example"]) == 250


async def test_recipient_limit_refuses_the_extra_recipients(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path, max_recipients=2))
    many = [f"r{i}@help.example" for i in range(3)]
    assert await send(smtp_port(hub), compose(), many) == 250  # smtplib sends to those accepted
    page = await hub.store.list_tickets(TicketFilter())
    assert len(page.items) == 2


async def test_oversize_message_is_refused_with_552(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path, max_message_bytes=2048))
    answer = await send(smtp_port(hub), compose("x" * 5000))
    assert isinstance(answer, smtplib.SMTPResponseException)
    assert answer.smtp_code == 552
    assert not (await hub.store.list_tickets(TicketFilter())).items


async def test_storage_down_answers_451_so_the_sender_retries(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    await hub.store.close()
    answer = await send(smtp_port(hub), compose())
    assert isinstance(answer, smtplib.SMTPResponseException)
    assert answer.smtp_code == 451
    assert "4.3.0" in str(answer.smtp_error)


async def test_attachments_are_on_disk_before_the_250(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    raw = (CORPUS_FILES[0].parent / "attachment_pdf.eml").read_bytes()
    assert await send(smtp_port(hub), raw) == 250
    ticket = await hub.store.get_ticket((await hub.store.list_tickets(TicketFilter())).items[0].id)
    (attachment,) = ticket.messages[0].attachments
    assert attachment.sha256 is not None
    assert attachment.content_type == "application/pdf"
    data = BlobStore(tmp_path / "blobs").get(attachment.sha256)
    assert data.startswith(b"%PDF")
    assert len(data) == attachment.size


async def test_large_message_is_parsed_off_the_loop(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(email_settings(make_settings, tmp_path))
    big = compose("A long story.\n" * 30_000, message_id="<big@example.com>")
    assert len(big) > 256 * 1024
    assert await send(smtp_port(hub), big) == 250
    ticket = await hub.store.get_ticket((await hub.store.list_tickets(TicketFilter())).items[0].id)
    assert ticket.messages[0].body.startswith("A long story.")


async def test_starttls_is_offered_and_can_be_required(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await asyncio.to_thread(self_signed_certificate, cert, key)
    settings = email_settings(
        make_settings, tmp_path, tls_cert=str(cert), tls_key=str(key), require_starttls=True
    )
    hub = await start_hub(settings)
    port = smtp_port(hub)

    def deliver(*, use_tls: bool) -> object:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            if use_tls:
                context = ssl.create_default_context(cafile=str(cert))
                context.check_hostname = False
                client.starttls(context=context)
            try:
                client.sendmail("ada@example.com", [SUPPORT], compose())
            except smtplib.SMTPException as exc:
                return exc
            return 250

    refused = await asyncio.to_thread(deliver, use_tls=False)
    assert isinstance(refused, smtplib.SMTPResponseException)
    assert refused.smtp_code == 530
    assert await asyncio.to_thread(deliver, use_tls=True) == 250


def test_unparsable_message_is_kept_raw_and_flagged() -> None:
    raw = b"\x00\x01 not mail at all"
    parsed = unparsable(raw, T0, "relay@example.org", "ValueError: boom", MimeLimits())
    inbound = parsed.for_mailbox(SUPPORT)
    assert inbound.sender.value == "relay@example.org"
    assert inbound.meta["unparsable"] == "ValueError: boom"
    assert inbound.meta["automatic"] == "unparsable"  # never acknowledged
    (original,) = inbound.attachments
    assert (original.name, original.size) == ("message.eml", len(raw))
    assert parsed.blobs == (raw,)


def test_unreadable_certificate_is_a_config_error(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    settings = email_settings(
        make_settings, tmp_path, tls_cert=str(tmp_path / "cert.pem"), tls_key=str(tmp_path / "k")
    )
    with pytest.raises(ConfigError, match="tls_cert"):
        build_app(settings)
