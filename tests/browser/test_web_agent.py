"""The agent's inbox in a real headless Chromium: sign in, an offer arrives live while a
contact comes through the signed form webhook, accept it, the customer's `<script>` shows as
text, reply (by email, through a real SMTP sink), a note, resolve; sign-out revokes."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from core.model import Role
from core.people import AgentChange
from hub.tokens import digest, new_secret
from tests.browser.web_face import (
    RULES,
    hub_sections,
    post_contact,
    screens,
    secret_of,
    sign_in,
)
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import SUPPORT, Outbox, outbox_server
from tests.support import FORM_SECRET, form_body, form_headers

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["screens"]

EVIL = "a refund please <script>window.hacked = 1</script><b>bold?</b>"


@pytest.fixture
async def outbox() -> AsyncIterator[tuple[Outbox, int]]:
    async with outbox_server() as running:
        yield running


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> Hub:
    sections = hub_sections(
        tmp_path,
        channels={
            "webform": {"secret": FORM_SECRET},
            "smtp": {"port": 0, "mailboxes": [SUPPORT], "hostname": "hub.example"},
        },
        outbound={"smtp": {"port": outbox[1], "send_backoff": 0.01, "acknowledge": False}},
    )
    return await start_hub(make_settings(**sections))


async def test_an_offer_arrives_live_and_the_agent_works_the_ticket_to_resolved(
    hub: Hub, page: Page, outbox: tuple[Outbox, int], screens: Path
) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann", skills=["billing"])
    await sign_in(page, hub.base_url, secret, "ann")
    await page.get_by_label("Presence").select_option("online")
    await expect(page.locator("#offers")).to_have_text("No offers.")
    ticket_id = await post_contact(hub, "w1", EVIL)

    offer = page.locator("#offers li.offer")
    await expect(offer).to_contain_text(f"Ticket #{ticket_id}")
    await expect(offer.locator(".left")).to_contain_text("left")
    await page.screenshot(path=str(screens / "agent-offer.png"))
    await offer.get_by_role("button", name="Accept").click()

    conversation = page.locator(".conversation")
    await expect(conversation.locator(".msg.inbound")).to_contain_text(EVIL)  # as text
    assert await conversation.locator("script, b").count() == 0
    assert await page.evaluate("window.hacked") is None
    await expect(page.locator("#my-tickets")).to_contain_text(f"#{ticket_id}")
    await expect(page.locator(".clocks")).to_contain_text(
        re.compile(r"first response: active \d+(h|m) \d\d(m|s) left")
    )

    await page.get_by_label("Reply (by email to ada@example.com)").fill("We are on it.")
    await page.get_by_role("button", name="Send reply").click()
    await expect(conversation.locator(".msg.outbound")).to_contain_text("We are on it.")
    (mail,) = await outbox[0].wait_for(1)
    assert mail["To"] == "ada@example.com"

    await page.get_by_label("Internal note").fill("Checked the invoice.")
    await page.get_by_role("button", name="Add note").click()
    await expect(conversation.locator(".msg.note")).to_contain_text("Checked the invoice.")
    await page.screenshot(path=str(screens / "agent-ticket.png"), full_page=True)
    await on_a_phone(page, screens)

    await page.get_by_label("Status").select_option("resolved")
    await page.get_by_role("button", name="Set status").click()
    await expect(page.locator("#ticket .hint").first).to_contain_text("resolved")
    ticket = await hub.store.get_ticket(ticket_id)
    assert (ticket.status, ticket.assignee) == ("resolved", "ann")
    record = [e.kind for e in await hub.store.ticket_events(ticket_id)]
    assert {"assigned", "reply_out", "note", "status"} <= set(map(str, record))


async def on_a_phone(page: Page, screens: Path) -> None:
    """One column, nothing wider than the screen; a ticket opened from the lists shows its top."""
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390
    await page.locator("#my-tickets a").click()  # opened from the list above it: its top shows
    await expect(page.locator("#ticket-title")).to_be_focused()
    top = await page.evaluate("document.getElementById('ticket-title').getBoundingClientRect().top")
    assert -1 < top < 60
    await page.screenshot(path=str(screens / "agent-phone.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})


async def test_sign_out_revokes_the_session(hub: Hub, page: Page) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann")
    await sign_in(page, hub.base_url, secret, "ann")
    cookies = await page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "contacthub_session"]
    assert (session["httpOnly"], session["sameSite"]) == (True, "Strict")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Your API token")).to_be_visible()
    async with hub.http.get(
        "/api/me", headers={"Cookie": f"contacthub_session={session['value']}"}
    ) as response:
        assert response.status == 401  # the old cookie, replayed, is dead


async def test_claim_transfer_and_escalate_from_the_page(hub: Hub, page: Page) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann", skills=["billing"])
    await sign_in(page, hub.base_url, secret, "ann")  # offline: nothing is offered
    queue = page.locator("#my-queues li", has_text="billing")
    await queue.get_by_role("button", name="Claim next").click()
    await expect(page.locator("#claim-why")).to_contain_text("Nothing to claim")
    ticket_id = await post_contact(hub, "w2", "refund")
    await expect(queue.locator(".waiting")).to_have_text("1")  # live, from queue.depth
    await queue.get_by_role("button", name="Claim next").click()
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{ticket_id}")
    ticket = await hub.store.get_ticket(ticket_id)
    assert ticket.assignee == "ann"
    await page.get_by_label("Tags (comma separated)").fill("vip, billing")
    await page.get_by_role("button", name="Save tags").click()
    await expect(page.locator("#side")).to_contain_text("saved")
    customer = await hub.store.get_customer(ticket.customer_id)
    assert set(customer.tags) == {"vip", "billing"}

    await page.get_by_role("button", name="Transfer").click()  # no queue chosen yet
    await expect(page.locator("#ticket-error")).to_have_text("Choose the queue to transfer to.")
    transfer = page.get_by_label("Transfer to queue")  # the queues there are, not free text
    choices = await transfer.locator("option").all_inner_texts()
    assert "general" in choices
    assert ticket.queue not in choices
    await apply(page, "Transfer to queue", "general", "Transfer", shows="general")
    await page.get_by_label("Escalate because").fill("needs an expert")
    await page.get_by_role("button", name="Escalate").click()
    await expect(page.locator("#ticket .hint").first).to_contain_text("experts")
    kinds = {str(e.kind) for e in await hub.store.ticket_events(ticket_id)}
    assert {"transferred", "escalated"} <= kinds
    record = page.locator("#side .record li")  # what each change did, in words
    await expect(record.filter(has_text="escalated")).to_contain_text("needs an expert")
    await expect(record.filter(has_text="queue ann")).to_contain_text(
        [f"{ticket.queue} → general", "general → experts"]
    )
    await expect(record.filter(has_text="unassigned ann")).to_contain_text("ann → nobody")


async def test_a_reply_the_relay_refuses_says_why_on_the_message(
    hub: Hub, page: Page, outbox: tuple[Outbox, int]
) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann", skills=["billing"])
    await sign_in(page, hub.base_url, secret, "ann")
    ticket_id = await post_contact(hub, "w3", "refund")
    queue = page.locator("#my-queues li", has_text="billing")
    await expect(queue.locator(".waiting")).to_have_text("1")
    await queue.get_by_role("button", name="Claim next").click()
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{ticket_id}")
    outbox[0].refuse = "550 5.1.1 mailbox unavailable"
    await page.get_by_label("Reply (by email to ada@example.com)").fill(
        "Your refund is on its way."
    )
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator("#ticket-error")).to_contain_text("not delivered")
    sent = page.locator(".conversation .msg.outbound", has_text="Your refund is on its way.")
    await expect(sent.locator(".delivery-error")).to_contain_text("Not delivered (failed)")
    await expect(sent.locator(".delivery-error")).to_contain_text("mailbox unavailable")


async def test_an_agent_finds_any_ticket_by_its_words_or_its_number(hub: Hub, page: Page) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann")
    await sign_in(page, hub.base_url, secret, "ann")
    kettle = await post_contact(hub, "w4", "My kettle arrived broken")
    await post_contact(hub, "w5", "Where is my parcel?")
    search, found = page.get_by_role("searchbox", name="Find tickets"), page.locator("#found li")
    await search.fill("broken KETTLE")
    await search.press("Enter")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text(f"#{kettle} Form of ")  # no subject: channel, day
    await found.get_by_role("link").click()
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{kettle}")
    await search.fill("kettle parcel")  # every word must be there
    await search.press("Enter")
    await expect(page.locator("#found-why")).to_have_text("No ticket has every word.")
    await expect(found).to_have_count(0)
    await search.fill("#999")
    await search.press("Enter")
    await expect(page.locator("#found-why")).to_have_text("No ticket #999.")
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{kettle}")  # still open
    await search.fill(str(kettle + 1))
    await search.press("Enter")
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{kettle + 1} ")


async def apply(page: Page, label: str, value: str, button: str, *, shows: str) -> None:
    """Choose `value` in the ticket's list `label`, press `button`: the header shows it."""
    await page.get_by_label(label).select_option(value)
    await page.get_by_role("button", name=button).click()
    await expect(page.locator("#ticket .hint").first).to_contain_text(shows)


async def open_by_number(hub: Hub, page: Page, role: Role, name: str, message: str) -> int:
    """Signed in as `name`, a new contact's ticket opened by its number from the search."""
    secret = await secret_of(hub, role, name)
    await sign_in(page, hub.base_url, secret, name)
    ticket_id = await post_contact(hub, f"w-{name}", message)
    search = page.get_by_role("searchbox", name="Find tickets")
    await search.fill(f"#{ticket_id}")
    await search.press("Enter")
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{ticket_id} ")
    return ticket_id


async def test_a_supervisor_assigns_a_ticket_and_sets_its_priority(hub: Hub, page: Page) -> None:
    await secret_of(hub, Role.AGENT, "ann")
    ticket_id = await open_by_number(hub, page, Role.SUPERVISOR, "sue", "My kettle arrived broken")
    await expect(page.locator("#ticket .hint").first).to_contain_text("normal")
    assignee = page.get_by_label("Assignee")
    assert "ann" in await assignee.locator("option").all_inner_texts()
    await apply(page, "Assignee", "ann", "Assign", shows="ann")
    await apply(page, "Priority", "urgent", "Set priority", shows="urgent")
    ticket = await hub.store.get_ticket(ticket_id)
    assert (ticket.assignee, ticket.priority) == ("ann", "urgent")
    await page.get_by_label("Priority").select_option("high")  # chosen, not applied yet
    headers = await hub.token(Role.SUPERVISOR, "sue")
    async with hub.http.post(
        f"/api/tickets/{ticket_id}/notes", json={"body": "from elsewhere"}, headers=headers
    ) as response:
        assert response.status == 201
    await expect(page.locator(".conversation")).to_contain_text("from elsewhere")  # redrawn
    await expect(page.get_by_label("Priority")).to_have_value("high")  # the choice kept
    await expect(page.get_by_label("Status")).to_have_value("new")  # untouched: as it is
    await apply(page, "Assignee", "", "Assign", shows="unassigned")  # nobody: to its queue
    await secret_of(hub, Role.AGENT, "cy")  # an agent added since the page loaded
    second = await post_contact(hub, "w-second", "My toaster too")
    await page.get_by_role("searchbox", name="Find tickets").fill(f"#{second}")
    await page.get_by_role("searchbox", name="Find tickets").press("Enter")
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{second} ")
    assert "cy" in await page.get_by_label("Assignee").locator("option").all_inner_texts()
    assert (await hub.store.get_ticket(ticket_id)).assignee is None


async def test_an_agent_may_assign_only_themselves(hub: Hub, page: Page) -> None:
    await secret_of(hub, Role.AGENT, "bob")
    ticket_id = await open_by_number(hub, page, Role.AGENT, "ann", "Where is my parcel?")
    assignee = page.get_by_label("Assignee")
    await expect(assignee.locator("option")).to_have_text(["nobody", "ann (me)"])
    await assignee.select_option("ann")
    await page.get_by_role("button", name="Assign").click()
    await expect(page.locator("#my-tickets")).to_contain_text(f"#{ticket_id}")


async def test_a_closed_ticket_shows_it_is_final_and_takes_notes_and_a_follow_up(
    hub: Hub, page: Page
) -> None:
    ticket_id = await open_by_number(hub, page, Role.SUPERVISOR, "sue", "Please close this")
    await apply(page, "Status", "closed", "Set status", shows="closed")
    await expect(page.locator("#closed-final")).to_contain_text("a closed ticket is final")
    for gone in ("Set status", "Set priority", "Assign", "Transfer", "Escalate"):
        await expect(page.get_by_role("button", name=gone, exact=True)).to_have_count(0)
    await page.get_by_label("Internal note").fill("Called back: all fine.")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator(".conversation .msg.note")).to_contain_text("Called back")
    assert (await hub.store.get_ticket(ticket_id)).status == "closed"
    await expect(page.get_by_role("button", name="Send reply")).to_have_count(0)

    follow = page.get_by_label("Follow up on a new ticket (by email to ada@example.com)")
    await follow.fill("One more thing: your refund went out today.")
    await page.get_by_role("button", name="Send as a new ticket").click()
    heading = page.locator("#ticket h2")
    await expect(heading).not_to_contain_text(f"#{ticket_id} ")  # the new ticket opens
    made = int((await heading.inner_text()).split()[0].lstrip("#"))
    await expect(page.locator("#ticket")).to_contain_text("open · general")
    ticket = await hub.store.get_ticket(made)
    assert (ticket.status, ticket.assignee) == ("open", "sue")
    assert [m.body for m in ticket.messages] == ["One more thing: your refund went out today."]
    assert (await hub.store.get_ticket(ticket_id)).status == "closed"


async def test_a_revoked_session_brings_the_sign_in_back(hub: Hub, page: Page) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann")
    await sign_in(page, hub.base_url, secret, "ann")
    await hub.store.revoke_tokens("ann", datetime.now(UTC))  # every token, the session's too
    # The next request is refused (401), whichever it is: a change of presence, or the page's
    # own (its live stream's reconnection) when that comes first and hides the control.
    with contextlib.suppress(PlaywrightTimeoutError):
        await page.get_by_label("Presence").select_option("away", timeout=3000)
    await expect(page.get_by_label("Your API token")).to_be_visible()


async def test_a_token_without_a_role_is_told_why_it_opens_nothing(hub: Hub, page: Page) -> None:
    """`agent add ann` without `--role`, then signing in; and a signed-in agent whose role an
    admin takes away, on the page's next load: both are told which command gives one."""
    now = datetime.now(UTC)
    await hub.store.put_agent("ann", AgentChange(), now)
    secret = new_secret()
    await hub.store.add_token("ann", None, digest(secret), now)
    await page.goto(hub.base_url + "/")
    await page.get_by_label("Your API token").fill(secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#sign-in-error")).to_contain_text("agent add ann --role agent")
    await expect(page.locator("#bar")).to_be_hidden()

    bob = await secret_of(hub, Role.AGENT, "bob")
    await sign_in(page, hub.base_url, bob, "bob")
    await hub.store.put_agent("bob", AgentChange(roles=frozenset()), now)
    await page.reload()
    await expect(page.locator("#sign-in-error")).to_contain_text("agent add bob --role agent")
    await expect(page.locator("#bar")).to_be_hidden()
    sessions = [t for t in await hub.store.list_tokens() if t.name == "bob"]
    assert [t.revoked_at is not None for t in sessions] == [False, True]  # the session ended


async def test_an_agent_merges_the_same_person_and_undoes_it(hub: Hub, page: Page) -> None:
    body = form_body("m1", message="My parcel again", email="ada.l@example.org")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as answer:
        assert answer.status == 201
        moved = int((await answer.json())["ticket_id"])
        other = (await hub.store.get_ticket(moved)).customer_id
    ticket_id = await open_by_number(hub, page, Role.AGENT, "ann", "Where is my parcel?")
    ada = (await hub.store.get_ticket(ticket_id)).customer_id
    side = page.locator("#side")
    await expect(side.locator("#other-tickets")).to_have_text("None: this is their only ticket.")
    await side.get_by_label("Find another customer (email, @domain, phone or name)").fill(
        "@example.org"  # by the domain of her other address
    )
    await side.get_by_role("button", name="Find").click()
    await side.get_by_role("button", name=f"Merge #{other} into this customer").click()
    await expect(page.locator("#merge-said")).to_have_text(f"Merged #{other} into #{ada}.")
    await expect(side).to_contain_text("email: ada.l@example.org")  # the identity came along
    await expect(side.locator("#other-tickets")).to_contain_text(f"#{moved} Form of ")  # named
    assert (await hub.store.get_customer(other)).merged_into == ada
    await side.get_by_role("button", name=f"Undo the merge of #{other}").click()
    await expect(page.locator("#merge-said")).to_have_text(f"Merge of #{other} undone.")
    await expect(side).not_to_contain_text("email: ada.l@example.org")
    assert (await hub.store.get_customer(other)).merged_into is None


async def test_an_offer_that_runs_out_shows_the_agent_away_and_why(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, page: Page
) -> None:
    rules = RULES.replace("offer_timeout: 60s", "offer_timeout: 5s")  # the least allowed
    channels = {"webform": {"secret": FORM_SECRET}}
    hub = await start_hub(make_settings(**hub_sections(tmp_path, rules, channels=channels)))
    secret = await secret_of(hub, Role.AGENT, "ann", skills=["billing"])
    await sign_in(page, hub.base_url, secret, "ann")
    presence = page.get_by_label("Presence")
    await presence.select_option("online")
    ticket_id = await post_contact(hub, "x1", "a refund please")
    await expect(page.locator("#offers li.offer")).to_contain_text(f"Ticket #{ticket_id}")
    await expect(presence).to_have_value("away", timeout=15_000)  # the hub set it: shown
    why = f"The offer of #{ticket_id} ran out, so you are away: choose online to be offered "
    await expect(page.locator("#presence-why")).to_have_text(why + "work again.")
    await presence.select_option("online")
    await expect(page.locator("#presence-why")).to_have_text("")


async def test_a_click_under_way_when_a_live_redraw_comes_is_not_lost(hub: Hub, page: Page) -> None:
    ticket_id = await open_by_number(hub, page, Role.AGENT, "ann", "Where is my parcel?")
    await page.get_by_label("Internal note").fill("Checked the depot.")
    button = await page.get_by_role("button", name="Add note").bounding_box()
    assert button is not None
    await page.mouse.move(button["x"] + 5, button["y"] + 5)
    await page.mouse.down()  # pressed: the change of someone else comes meanwhile
    headers = await hub.token(Role.SUPERVISOR, "sue")
    async with hub.http.post(
        f"/api/tickets/{ticket_id}/notes", json={"body": "from elsewhere"}, headers=headers
    ) as response:
        assert response.status == 201
    await page.wait_for_timeout(700)  # its redraw would have replaced the button by now
    await page.mouse.up()
    notes = page.locator(".conversation .msg.note")
    await expect(notes).to_have_count(2)
    await expect(notes.nth(1)).to_contain_text("Checked the depot.")
    await expect(page.get_by_label("Internal note")).to_have_value("")


async def test_a_long_ticket_opens_at_its_newest_messages_and_shows_the_rest_on_asking(
    hub: Hub, page: Page
) -> None:
    """A ticket of 250 messages draws its newest 100 and its record's newest 200 entries;
    "Show earlier messages" and "Show the whole record" draw the rest, and a live redraw
    keeps what was asked for."""
    ticket_id = await open_by_number(hub, page, Role.AGENT, "ann", "The very first message")
    for n in range(249):
        await hub.store.append_outbound(ticket_id, f"line {n}", "ann", datetime.now(UTC))
    search = page.get_by_role("searchbox", name="Find tickets")
    await search.fill(f"#{ticket_id}")
    await search.press("Enter")
    messages = page.locator("#ticket .conversation > li.msg")
    await expect(messages).to_have_count(100)
    await expect(messages.last).to_contain_text("line 248")
    earlier = page.get_by_role("button", name="Show earlier messages (150 more)")
    await earlier.click()
    await expect(messages).to_have_count(250)
    await expect(messages.first).to_contain_text("The very first message")
    await expect(page.locator("#earlier-messages")).to_have_count(0)
    record = page.locator("#side .record > li")
    await expect(record).to_have_count(200)
    entries = len(await hub.store.ticket_events(ticket_id))
    assert entries > 250  # created, the message, a reply_out each, and what the first moved
    await page.get_by_role("button", name=f"Show the whole record ({entries} entries)").click()
    await expect(record).to_have_count(entries)
    await hub.store.append_outbound(ticket_id, "one more", "ann", datetime.now(UTC))
    await expect(messages).to_have_count(251)  # the live redraw kept them all
    await expect(record).to_have_count(entries + 1)


async def test_a_clock_past_its_due_time_says_by_how_much_it_is_over(hub: Hub, page: Page) -> None:
    """A clock counts down what is left, then up by how much it is over (not "-1h 00m")."""
    await page.clock.install()  # the page's time, moved on below; the hub's stays
    await open_by_number(hub, page, Role.AGENT, "ann", "a refund please")  # billing: 1h
    clocks = page.locator(".clocks")
    await expect(clocks).to_contain_text(
        re.compile(r"first response: active \d+(h|m) \d\d(m|s) left")
    )
    await page.clock.fast_forward("02:00:00")
    await expect(clocks).to_contain_text(re.compile(r"first response: active \d+h \d\dm over"))
