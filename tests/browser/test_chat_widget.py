"""The chat widget in a real headless Chromium on a sample host page served by the hub: the
page's CSS stays out, the pre-chat form, send (acked after the commit), an agent's reply
live and as text (never HTML), typing, and a reload that keeps the conversation and gets
what came while the page was away; on another site's page, a reconnection after the hub
restarts."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, Page, expect

from channels.webchat import NAME
from core.model import Role, TicketFilter
from hub.app import build_app
from tests.browser.web_face import secret_of, sign_in
from tests.channels.webchat.support import CHAT_SECRET, agent_online, chat_hub, chat_settings
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDGET = "#contacthub-chat"


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings) -> Hub:
    started = await chat_hub(start_hub, make_settings)
    await agent_online(started)
    return started


async def _chat_ticket(hub: Hub) -> int:
    tickets = (await hub.store.list_tickets(TicketFilter(channel=NAME))).items
    assert len(tickets) == 1
    return tickets[0].id


async def _reply(hub: Hub, ticket_id: int, body: str) -> None:
    headers = await hub.token(Role.AGENT, "jo")
    url = f"/api/tickets/{ticket_id}/reply"
    async with hub.http.post(url, json={"body": body}, headers=headers) as response:
        assert response.status == 201


async def _start_chat(page: Page) -> None:
    launcher = page.get_by_role("button", name="Chat with us")
    # Its icon is drawn: a glyph would need an emoji font (none here showed an empty box).
    assert await launcher.evaluate("e => e.textContent.trim()") == ""
    await expect(launcher.locator("svg")).to_be_visible()
    await launcher.click()
    await expect(page.locator(f"{WIDGET} textarea")).to_be_hidden()  # the pre-chat form first
    await page.get_by_label("Your name").fill("Ada")  # labelled, not only a placeholder
    await page.get_by_label("Your email").fill("ada@example.com")
    await page.locator(f"{WIDGET} .start").click()
    await expect(page.locator(f"{WIDGET} .status")).to_have_text("We're online")
    await expect(page.locator(f"{WIDGET} .prechat")).to_be_hidden()


async def test_send_receive_live_and_keep_the_conversation_across_a_reload(
    page: Page, hub: Hub
) -> None:
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
    await page.goto(f"{hub.base_url}/chat/demo")
    heading = await page.locator("h1").evaluate("e => getComputedStyle(e).color")
    title = await page.locator(f"{WIDGET} h2").evaluate("e => getComputedStyle(e).color")
    assert (heading, title) == ("rgb(170, 0, 0)", "rgb(255, 255, 255)")  # no leak either way
    await _start_chat(page)
    await page.locator(f"{WIDGET} textarea").fill("Where is my order #123?")
    await page.keyboard.press("Enter")
    mine = page.locator(f"{WIDGET} .msg.visitor")
    await expect(mine).to_have_text(["Where is my order #123?"])
    await expect(mine).not_to_have_class("msg visitor pending")  # acked: stored
    ticket_id = await _chat_ticket(hub)
    stored = await hub.store.get_ticket(ticket_id)
    assert [m.body for m in stored.messages] == ["Where is my order #123?"]
    assert stored.messages[0].sender.startswith("visitor:")
    assert refused == []  # the page, the widget and its socket all answered

    await _reply(hub, ticket_id, "<b>Shipped</b> <img src=x onerror=alert(1)>")
    agent = page.locator(f"{WIDGET} .msg.agent")
    await expect(agent).to_have_text(["<b>Shipped</b> <img src=x onerror=alert(1)>"])
    assert await agent.locator("b, img").count() == 0  # text, never HTML

    headers = await hub.token(Role.AGENT, "jo")
    async with hub.http.post(f"/api/tickets/{ticket_id}/typing", headers=headers) as answer:
        assert answer.status == 204
    await expect(page.locator(f"{WIDGET} .typing")).to_have_text("Agent is typing\u2026")

    await page.goto("about:blank")  # the visitor leaves; a reply comes meanwhile
    await _reply(hub, ticket_id, "It arrives tomorrow")
    await page.goto(f"{hub.base_url}/chat/demo")
    texts = [
        "Where is my order #123?",
        "<b>Shipped</b> <img src=x onerror=alert(1)>",
        "It arrives tomorrow",
    ]
    await expect(page.locator(f"{WIDGET} .msg")).to_have_text(texts)
    await page.locator(f"{WIDGET} textarea").fill("Thanks!")
    await page.keyboard.press("Enter")
    await expect(page.locator(f"{WIDGET} .msg.visitor.pending")).to_have_count(0)
    again = await hub.store.get_ticket(ticket_id)
    assert [m.body for m in again.messages][-1] == "Thanks!"
    assert len(again.messages) == 4


HOST_PAGE = """<!doctype html><html><head><title>Another shop</title></head>
<body><h1>Another shop</h1><script src="{hub}/chat/widget.js" data-hub="{hub}" async></script>
</body></html>"""


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_on_another_sites_page_the_widget_reconnects_after_the_hub_restarts(
    page: Page, make_settings: MakeSettings
) -> None:
    site_port, hub_port = free_port(), free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    host = web.Application()
    page_html = HOST_PAGE.format(hub=hub_url)

    async def host_page(_request: web.Request) -> web.Response:
        return web.Response(text=page_html, content_type="text/html")

    host.router.add_get("/", host_page)
    site = await _serve(host, site_port)
    settings = chat_settings(make_settings, allowed_origins=[f"http://127.0.0.1:{site_port}"])
    first = await _serve(build_app(settings), hub_port)
    try:
        async with aiohttp.ClientSession(hub_url) as http:
            await agent_online(Hub(first.app, http, hub_url))
        await page.goto(f"http://127.0.0.1:{site_port}/")
        await _start_chat(page)
        await page.locator(f"{WIDGET} textarea").fill("Before the restart")
        await page.keyboard.press("Enter")
        await expect(page.locator(f"{WIDGET} .msg.visitor.pending")).to_have_count(0)
        await first.cleanup()  # the hub goes away (1001) and comes back on the same file
        await expect(page.locator(f"{WIDGET} .status")).to_have_text("Reconnecting\u2026")
        second = await _serve(build_app(settings), hub_port)
        try:
            await expect(page.locator(f"{WIDGET} .status")).to_have_text("We're online")
            async with aiohttp.ClientSession(hub_url) as http:
                hub = Hub(second.app, http, hub_url)
                await _reply(hub, await _chat_ticket(hub), "Back again")
            await expect(page.locator(f"{WIDGET} .msg.agent")).to_have_text(["Back again"])
        finally:
            await second.cleanup()
    finally:
        await site.cleanup()


@pytest.mark.parametrize(
    ("relay", "promise"),
    [
        (True, "we'll answer here and by email at ada@example.com."),
        (False, "we'll answer here, when you come back."),  # no email could go: none promised
    ],
    ids=["relay", "no-relay"],
)
async def test_with_nobody_online_the_widget_says_how_the_answer_comes(
    page: Page, start_hub: StartHub, make_settings: MakeSettings, relay: bool, promise: str
) -> None:
    """Once it promised an answer by email whether or not the hub could send one."""
    relaying = {"outbound": {"smtp": {"port": free_port()}}} if relay else {}
    channels = {"webchat": {"secret": CHAT_SECRET}}
    quiet = await start_hub(make_settings(channels=channels, **relaying))  # no agent online
    await page.goto(f"{quiet.base_url}/chat/demo")
    await page.locator(f"{WIDGET} .launcher").click()
    await page.locator(f"{WIDGET} [name=name]").fill("Ada")
    await page.locator(f"{WIDGET} [name=email]").fill("ada@example.com")
    await page.locator(f"{WIDGET} .start").click()
    await expect(page.locator(f"{WIDGET} .status")).to_have_text("Nobody is online right now")
    await expect(page.locator(f"{WIDGET} .notice")).to_have_text(f"Leave a message: {promise}")
    await page.locator(f"{WIDGET} textarea").fill("Call me back")
    await page.keyboard.press("Enter")
    await expect(page.locator(f"{WIDGET} .msg.visitor.pending")).to_have_count(0)
    ticket = await quiet.store.get_ticket(await _chat_ticket(quiet))
    assert ticket.messages[0].meta["email_hint"] == "ada@example.com"


async def test_each_side_sees_the_other_typing(
    page: Page, context: BrowserContext, hub: Hub
) -> None:
    await page.goto(f"{hub.base_url}/chat/demo")
    await _start_chat(page)
    visitor_box = page.locator(f"{WIDGET} textarea")
    await visitor_box.fill("Where is my order?")
    await page.keyboard.press("Enter")
    await expect(page.locator(f"{WIDGET} .msg.visitor.pending")).to_have_count(0)
    ticket_id = await _chat_ticket(hub)

    agent = await context.new_page()
    errors: list[str] = []
    agent.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in(agent, hub.base_url, await secret_of(hub, Role.AGENT, "jo"), "jo")
    search = agent.get_by_role("searchbox", name="Find tickets")
    await search.fill(f"#{ticket_id}")
    await search.press("Enter")
    await expect(agent.locator("#visitor-typing")).to_have_text("")
    await visitor_box.press_sequentially("and when", delay=30)  # the visitor types
    await expect(agent.locator("#visitor-typing")).to_have_text("Ada is typing\u2026")
    await agent.get_by_label("Reply (by chat)").press_sequentially("Let me look", delay=30)
    await expect(page.locator(f"{WIDGET} .typing")).to_have_text("Agent is typing\u2026")
    assert errors == []
