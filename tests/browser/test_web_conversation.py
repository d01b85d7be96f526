"""A ticket's whole conversation in a real headless Chromium: one customer's email, SMS,
Slack, web chat, form and call (its voicemail's recording link and transcript) threaded onto
one ticket show in the order they came, each labelled with its channel, beside the agent's
reply and note; an edited and a deleted message say so; an attachment's address is a link
only when it is a web address, a kept one's bytes are a link to the hub, and the quoted
earlier mail is folded under the text."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from core.model import Attachment, Identity, Role, Status, ThreadPolicy, TicketChange
from core.record import Actor
from hub.state import SETTINGS
from storage.blobs import BlobStore
from tests.browser.web_face import hub_sections, screens, secret_of, sign_in
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import RecordingRouter, inbound

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["screens"]

RECORDING = "https://api.twilio.example/2010-04-01/Accounts/AC1/Recordings/RE1"
ADA = (Identity("email", "ada@example.com"), Identity("phone", "+15550001111"))
INVOICE = b"%PDF-1.4 the invoice"
QUOTED = "On Monday, support wrote:\n> Your invoice is attached."
CONTACTS: list[tuple[str, str, str, str, dict[str, Any]]] = [  # channel, sender, event, text, more
    ("email", "email:ada@example.com", "message", "Where is my invoice?", {"subject": "Inv 42",
        "attachments": (Attachment("invoice.pdf", "application/pdf", len(INVOICE),
                                   hashlib.sha256(INVOICE).hexdigest()),),
        "meta": {"quoted": QUOTED, "parts_skipped": "2"}}),
    ("sms", "phone:+15550001111", "message", "Any news?", {}),
    ("slack", "slack:T1:U1", "message", "pinging you on Slack", {
        "attachments": (Attachment("x.png", "image/png", url="javascript:alert(1)"),)}),
    ("chat", "visitor:v1", "message", "hello from the chat", {"subject": "hello from the chat"}),
    ("form", "email:ada@example.com", "message", "name: Ada\nmessage: please call me", {}),
    ("voice", "phone:+15550001111", "call", "incoming call", {}),
    ("voice", "phone:+15550001111", "voicemail", "voicemail (12 s)", {
        "attachments": (Attachment("RE1.wav", "audio/x-wav", url=RECORDING),)}),
    ("voice", "phone:+15550001111", "voicemail", "Hi, this is Ada, please call me back", {}),
]  # fmt: skip


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, db_url: str) -> Hub:
    storage = {"url": db_url, "blob_dir": str(tmp_path / "blobs")}
    return await start_hub(make_settings(**hub_sections(tmp_path), storage=storage))


async def write_conversation(hub: Hub, start: datetime) -> int:
    """Every contact threaded onto one ticket (one customer, one thread), a minute apart;
    the Slack message edited, the SMS deleted; then ann's reply and note."""
    ticket_id = 0
    BlobStore(hub.app[SETTINGS].storage.blob_dir).put(INVOICE)  # as the SMTP listener keeps it
    for n, (channel, sender, event, text, extra) in enumerate(CONTACTS):
        at = start + timedelta(minutes=n)
        contact = inbound(f"c{n}", sender, channel=channel, at=at, text=text, event=event,
                          identities=ADA, thread_keys=("ada",), **extra)  # fmt: skip
        result = await hub.store.commit_inbound(contact, RecordingRouter(), ThreadPolicy())
        ticket_id = ticket_id or result.ticket_id
        assert result.ticket_id == ticket_id
    edited = start + timedelta(minutes=2, seconds=30)
    await hub.store.edit_message("slack:c2", "pinging you on Slack (edited)", edited)
    await hub.store.edit_message("sms:c1", None, start + timedelta(minutes=1, seconds=30))
    ann = Actor.agent("ann")
    change = TicketChange(status=Status.OPEN, assignee="ann", actor=ann)
    await hub.store.update_ticket(ticket_id, change, start + timedelta(minutes=9))
    await hub.store.append_outbound(
        ticket_id, "Calling you now.", "ann", start + timedelta(minutes=10)
    )
    await hub.store.add_note(
        ticket_id, "Called back, no answer.", ann, start + timedelta(minutes=11)
    )
    return ticket_id


async def test_every_channel_and_the_voicemail_show_in_order(
    hub: Hub, page: Page, screens: Path
) -> None:
    ticket_id = await write_conversation(hub, datetime.now(UTC) - timedelta(minutes=30))
    await sign_in(page, hub.base_url, await secret_of(hub, Role.AGENT, "ann"), "ann")
    await page.locator("#my-tickets").get_by_role("link", name=f"#{ticket_id}").click()
    items = page.locator(".conversation > li")
    await expect(items).to_have_count(len(CONTACTS) + 2)
    channels = [await item.get_attribute("data-channel") for item in await items.all()]
    assert channels == [c[0] for c in CONTACTS] + ["email", None]  # the reply by email, the note

    await expect(items.nth(0)).to_contain_text("Inv 42")
    await _file_and_quote_show(page, hub, ticket_id, items.nth(0))
    assert await items.nth(3).locator("strong").count() == 0  # a chat's subject: its first line
    await expect(items.nth(1)).to_contain_text("(deleted by the customer")
    await expect(items.nth(1).locator("del")).to_have_text("Any news?")
    await expect(items.nth(2).locator(".meta")).to_contain_text("edited")
    await expect(items.nth(2)).to_contain_text("x.png")
    assert await items.nth(2).locator("a").count() == 0  # javascript: is no link
    await expect(items.nth(4)).to_contain_text("message: please call me")
    await expect(items.nth(5).locator(".meta")).to_contain_text("voice · call")
    recording = items.nth(6).get_by_role("link", name="Recording (RE1.wav)")
    await expect(recording).to_have_attribute("href", RECORDING)
    await expect(recording).to_have_attribute("rel", "noopener noreferrer")
    await expect(items.nth(6).locator(".meta")).to_contain_text("voicemail recording")
    transcript = items.nth(7)
    await expect(transcript).to_have_class("msg inbound voicemail-transcript")
    await expect(transcript).to_contain_text("Hi, this is Ada, please call me back")
    await expect(items.nth(8)).to_have_class("msg outbound")
    await expect(items.nth(9)).to_contain_text("Called back, no answer.")
    customer = await hub.store.get_customer((await hub.store.get_ticket(ticket_id)).customer_id)
    record = page.locator("#side .record")  # who did what, in words
    await expect(record).to_contain_text(
        f"message_in {customer.name or f'customer #{customer.id}'}"
    )
    await expect(record).to_contain_text("note ann")
    # No relay here: the page says so before anyone writes a reply that could not go out.
    await expect(page.get_by_label("Reply", exact=True)).to_be_disabled()
    await expect(page.get_by_role("button", name="Send reply")).to_be_disabled()
    await expect(page.locator("#reply-way")).to_contain_text(
        "replies on the email channel cannot be sent: no sender is configured"
    )
    await page.screenshot(path=str(screens / "agent-conversation.png"), full_page=True)


async def _file_and_quote_show(page: Page, hub: Hub, ticket_id: int, email: Locator) -> None:
    """The email's kept attachment is a link to its bytes (with the page's session), its
    quoted earlier mail folded, and what was not read said."""
    href = await email.get_by_role("link", name="invoice.pdf").get_attribute("href")
    assert str(href).startswith(f"/api/tickets/{ticket_id}/messages/")
    fetched = await page.request.get(f"{hub.base_url}{href}")  # the session's cookie, no token
    assert (fetched.status, await fetched.body()) == (200, INVOICE)
    quoted = email.locator("details.quoted")
    await expect(quoted.locator("summary")).to_have_text("Quoted text")
    assert await quoted.get_attribute("open") is None  # folded until asked
    await quoted.locator("summary").click()
    await expect(quoted).to_contain_text("> Your invoice is attached.")
    await expect(email.locator(".channel-note")).to_contain_text("2 part(s) nested too deep")
