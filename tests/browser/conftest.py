"""A real headless Chromium for the tests of what runs in a browser (the chat widget, the web
face): Debian's `chromium` (scripts/setup --test-services installs it), driven by Playwright
without any browser download. A missing Chromium fails the test with what to do, never skips.

    async def test_something(page: Page, hub: Hub) -> None:
        await page.goto(hub.base_url + "/chat/demo")

Mark such tests `@pytest.mark.browser` (and `slow`): `-m "not browser"` leaves them out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    """Where Chromium is (CONTACTHUB_CHROMIUM overrides); the test fails when it is not."""
    given = os.environ.get("CONTACTHUB_CHROMIUM")
    found = given or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not found or not os.access(found, os.X_OK):
        pytest.fail(
            "Chromium is missing: the browser tests need it. Run scripts/setup --test-services "
            "(apt-get install chromium) or set CONTACTHUB_CHROMIUM to its path.",
            pytrace=False,
        )
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium for one test."""
    path = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile (its own localStorage and cookies); the page's console errors fail."""
    made = await browser.new_context()
    made.set_default_timeout(10_000)
    yield made
    await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab whose uncaught script errors are collected in `page_errors` and fail the test."""
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    assert errors == [], f"script errors on the page: {errors}"
