"""Campaigns in a real headless Chromium: an outbound runner sees only the campaigns screen,
creates one, uploads a call list (progress, then the load report with its bad lines), starts
it and reads its stats."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Dialog, FilePayload, Page, expect

from core.model import Role
from hub.state import SETTINGS
from tests.browser.web_face import RULES, hub_sections, screens, secret_of
from tests.conftest import Hub, MakeSettings, StartHub

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["screens"]

LIST = (
    "phone,name\n"
    "(212) 555-0100,Ada\n"
    "+1 415 555 0101,Grace\n"
    "bad number,Nobody\n"
    "2125550100,Ada again\n"
)


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    experts = "  experts: {kind: inbound, tier: 2}\n"
    assert experts in RULES
    outbound = RULES.replace(experts, experts + "  callbacks: {kind: outbound}\n")
    return await start_hub(make_settings(**hub_sections(tmp_path, outbound)))


async def test_an_outbound_runner_creates_uploads_starts_and_reads_stats(
    hub: Hub, page: Page, screens: Path
) -> None:
    await sign_in_as_olga(hub, page)
    await expect(page.get_by_role("button", name="Inbox")).to_be_hidden()
    await expect(page.get_by_label("Presence")).to_be_hidden()

    await expect(page.locator("#campaign-list tbody")).to_have_text(
        "No campaigns yet: create one below."
    )
    upload = page.locator("#campaign-upload")
    await expect(upload.get_by_role("button", name="Upload")).to_be_disabled()  # nowhere to go
    offered = page.locator("#outbound-queues option")  # the rules' outbound queues only
    await expect(offered).to_have_count(1)
    assert await offered.get_attribute("value") == "callbacks"
    await page.get_by_label("Name", exact=True).fill("spring")
    await page.get_by_role("button", name="Create campaign").click()
    row = page.locator("#campaign-list tr[data-campaign=spring]")
    await expect(row.locator(".state")).to_have_text("paused")
    spring = await hub.store.get_campaign("spring")  # the fields left empty: [campaigns]
    defaults = hub.app[SETTINGS].campaigns
    assert (spring.queue, spring.policy.hours) == (defaults.queue, defaults.policy().hours)

    await expect(upload.get_by_role("button", name="Upload")).to_be_enabled()
    await upload.get_by_label("CSV file").set_input_files(
        files=FilePayload(name="list.csv", mimeType="text/csv", buffer=LIST.encode())
    )
    await upload.get_by_role("button", name="Upload").click()
    report = page.locator("#load-report")
    await expect(report.locator(".summary-line")).to_have_text(
        "4 rows: 2 accepted, 1 invalid, 1 duplicate, 0 suppressed"
    )
    await expect(report.locator("tbody tr")).to_have_count(2)
    assert await page.locator("#upload-progress").get_attribute("value") == "100"

    await expect(row.locator("td.acts button")).to_have_text(
        ["start spring", "stop spring", "stats spring"]
    )  # what a paused campaign may do
    await row.get_by_role("button", name="start spring").click()
    await expect(row.locator(".state")).to_have_text("running")
    await expect(row.get_by_role("button", name="start spring")).to_have_count(0)
    await row.get_by_role("button", name="stats spring").click()
    await expect(page.locator("#campaign-stats")).to_contain_text("spring: 2 contacts")
    await page.screenshot(path=str(screens / "campaigns.png"), full_page=True)
    await row.get_by_role("button", name="pause spring").click()
    await expect(row.locator(".state")).to_have_text("paused")


async def sign_in_as_olga(hub: Hub, page: Page) -> None:
    """Olga runs campaigns: the page opens on them."""
    secret = await secret_of(hub, Role.OUTBOUND, "olga")
    await page.goto(hub.base_url + "/")
    await page.get_by_label("Your API token").fill(secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


async def test_a_campaign_stops_for_good_only_when_that_is_confirmed(hub: Hub, page: Page) -> None:
    await sign_in_as_olga(hub, page)
    await page.get_by_label("Name", exact=True).fill("spring")
    await page.get_by_role("button", name="Create campaign").click()
    row = page.locator("#campaign-list tr[data-campaign=spring]")
    await expect(row.locator("td.acts button")).to_have_text(
        ["start spring", "stop spring", "stats spring"]
    )  # what a paused campaign may do
    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

    page.on("dialog", answer)
    await row.get_by_role("button", name="stop spring").click()  # asked, and not meant
    await expect(row.locator(".state")).to_have_text("paused")
    await row.get_by_role("button", name="stop spring").click()
    await expect(row.locator(".state")).to_have_text("stopped")
    assert asked == ["Stop spring for good? A stopped campaign cannot start again."] * 2
    await expect(row.locator("td.acts button")).to_have_text(["stats spring"])  # for good
