"""The web face's accessibility in a real headless Chromium: axe-core (shipped by the
axe-playwright-python package, nothing fetched) finds no serious or critical violation on
the sign-in, the agent's inbox with an offer and an open ticket, the supervisor's view and
the campaigns; an agent answers an offer and replies with the keyboard alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from core.model import Role
from tests.browser.web_face import audit, hub_sections, post_contact, secret_of, sign_in
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


REPLY = "Reply (by email to ada@example.com)"  # a form ticket, answered through the relay


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    channels = {"webform": {"secret": FORM_SECRET}}
    relay = {
        "smtp": {"port": free_port(), "from_address": "help@hub.example", "acknowledge": False}
    }
    return await start_hub(
        make_settings(**hub_sections(tmp_path, channels=channels, outbound=relay))
    )


async def test_no_serious_violation_on_any_main_screen(hub: Hub, page: Page) -> None:
    await page.goto(hub.base_url + "/")
    await expect(page.get_by_label("Your API token")).to_be_visible()
    await audit(page, "sign-in")

    secret = await secret_of(hub, Role.ADMIN, "ada", skills=["billing"])
    await sign_in(page, hub.base_url, secret, "ada")
    await page.get_by_label("Presence").select_option("online")
    await post_contact(hub, "a1", "a refund please")
    offer = page.locator("#offers li.offer")
    await expect(offer).to_be_visible()
    await audit(page, "inbox with an offer")
    await offer.get_by_role("button", name="Accept").click()
    await expect(page.locator(".conversation")).to_contain_text("a refund please")
    await audit(page, "ticket")

    await page.get_by_role("button", name="Supervisor").click()
    await expect(page.locator("#queues tr[data-queue=billing]")).to_be_visible()
    await page.get_by_role("button", name="Test the draft").click()
    await expect(page.locator("#rules-decision")).to_contain_text("queue:")
    await expect(page.locator("#sla-chart svg")).to_be_visible()
    await page.get_by_role("button", name="Edit ada").click()
    await expect(page.get_by_role("heading", name="Edit ada")).to_be_focused()
    await audit(page, "supervisor, editing an agent")

    await page.get_by_role("button", name="Campaigns").click()
    await page.get_by_label("Name", exact=True).fill("spring")
    await page.get_by_role("button", name="Create campaign").click()
    await expect(page.locator("#campaign-list tr[data-campaign=spring]")).to_be_visible()
    await audit(page, "campaigns")


async def test_an_offer_is_accepted_and_answered_with_the_keyboard_alone(
    hub: Hub, page: Page
) -> None:
    secret = await secret_of(hub, Role.AGENT, "ann", skills=["billing"])
    await sign_in(page, hub.base_url, secret, "ann")
    await page.get_by_label("Presence").select_option("online")
    ticket_id = await post_contact(hub, "k1", "a refund please")
    accept = page.locator("#offers li.offer").get_by_role("button", name="Accept")
    await expect(accept).to_be_visible()
    await tab_to(page, accept)
    await page.keyboard.press("Enter")
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{ticket_id}")
    # The opened ticket takes the focus, so the next Tab leads into it.
    await expect(page.locator("#ticket h2")).to_be_focused()
    await tab_to(page, page.get_by_label(REPLY))
    await page.keyboard.type("Refunded.")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Send reply")).to_be_focused()
    await tab_to(page, page.get_by_label("Internal note"))
    await page.keyboard.type("Checked the invoice.")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator(".conversation .msg.note")).to_contain_text("Checked the invoice.")
    # The redraw keeps the keyboard where it was, with what was typed and not sent.
    await expect(page.get_by_role("button", name="Add note")).to_be_focused()
    await expect(page.get_by_label(REPLY)).to_have_value("Refunded.")


async def tab_to(page: Page, target: Locator, presses: int = 40) -> None:
    """Press Tab until `target` has the focus (a keyboard user's way there)."""
    for _ in range(presses):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    pytest.fail(f"{target} is not reachable with Tab")
