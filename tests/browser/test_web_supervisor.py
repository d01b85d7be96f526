"""The supervisor's view in a real headless Chromium: the live queue count changes when a
contact arrives, and again after the browser's connection was cut and restored (through a
relay the test cuts, like a network drop); the rules editor shows a broken file's line, tests
a draft and publishes it; reports with a chart and a CSV link."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from core.model import Cause, Role, TicketChange
from core.record import CLOCK, EventKind
from tests.browser.web_face import hub_sections, post_contact, screens, secret_of, sign_in
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["screens"]


class Relay:
    """A TCP relay in front of the hub whose connections the test cuts, like a network drop;
    while `down`, it closes every new connection at once."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.down = False
        self.links: list[asyncio.StreamWriter] = []
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def cut(self) -> None:
        self.down = True
        for writer in self.links:
            writer.transport.abort()
        self.links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.links += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    channels = {"webform": {"secret": FORM_SECRET}}
    return await start_hub(make_settings(**hub_sections(tmp_path, channels=channels)))


@pytest.fixture
async def relay(hub: Hub) -> AsyncIterator[Relay]:
    made = Relay(int(hub.base_url.rsplit(":", 1)[1]))
    server = await made.start()
    yield made
    made.cut()
    server.close()


async def supervise(page: Page, hub: Hub, base_url: str) -> None:
    secret = await secret_of(hub, Role.SUPERVISOR, "sue")
    await sign_in(page, base_url, secret, "sue")
    await page.get_by_role("button", name="Supervisor").click()


def waiting(page: Page, queue: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#queues tr[data-queue={queue}] td.waiting")


async def test_the_live_queue_count_follows_contacts_across_a_cut_connection(
    hub: Hub, relay: Relay, page: Page, screens: Path
) -> None:
    await supervise(page, hub, f"http://127.0.0.1:{relay.port}")
    await expect(waiting(page, "general")).to_have_text("0")
    ann = await hub.token(Role.AGENT, "ann")
    async with hub.http.post("/api/agents/me/presence", json={"status": "online"}, headers=ann):
        pass
    await post_contact(hub, "c1", "hello")
    await expect(waiting(page, "general")).to_have_text("1")  # live, no reload

    relay.cut()
    await expect(page.locator("#live")).to_have_text("reconnecting…")
    await post_contact(hub, "c2", "hello again")  # while the browser is away
    breached = await post_contact(hub, "c2b", "a refund please")  # billing, with an SLA
    await breach(hub, breached)
    relay.down = False
    await expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    await expect(waiting(page, "general")).to_have_text("2")
    billing = page.locator("#queues tr[data-queue=billing]")
    await expect(billing.locator("td.breaches")).to_have_text("1", timeout=10_000)
    await expect(billing.locator("td.sla")).to_have_text("0%")
    await post_contact(hub, "c3", "and again")
    await expect(waiting(page, "general")).to_have_text("3")
    await expect(page.locator("#queues tr[data-queue=general] td[data-since]")).to_contain_text(
        "m "
    )
    await expect(page.locator("#agents tr[data-agent=ann] .presence")).to_have_text("online")
    await expect(page.locator("#presence-counts")).to_contain_text("online 1")
    await page.screenshot(path=str(screens / "supervisor-reconnected.png"), full_page=True)


async def test_rules_editor_shows_the_line_tests_a_draft_and_publishes(
    hub: Hub, page: Page, screens: Path
) -> None:
    moved = await post_contact(hub, "m1", "a refund please")  # under the draft: general
    await supervise(page, hub, hub.base_url)
    editor = page.get_by_label("The rules (YAML)")
    source = await editor.input_value()
    assert "billing words" in source
    await editor.fill(source.replace("queue: billing,", "queue: nowhere,"))
    await page.get_by_role("button", name="Publish").click()
    problems = page.locator("#rules-problems")
    await expect(problems).to_contain_text("nowhere")
    await expect(problems).to_contain_text("Line 16")
    await problems.get_by_role("button", name="Line 16").click()
    selected = "e => e.value.slice(e.selectionStart, e.selectionEnd)"
    assert "nowhere" in await editor.evaluate(selected)

    await editor.fill(source.replace("refund", "money back"))
    test = page.locator("#rules-test")
    await test.get_by_label("Text").fill("I want my money back")
    await test.get_by_role("button", name="Test the draft").click()
    await expect(page.locator("#rules-decision")).to_contain_text("queue: billing")
    await page.get_by_role("button", name="Simulate against stored tickets").click()
    simulation = page.locator("#rules-simulation")
    await expect(simulation).to_contain_text("1 stored tickets replayed: 1 would move.")
    await expect(simulation.locator("tbody tr")).to_have_text([f"#{moved}billinggeneraldefault"])
    await page.get_by_role("button", name="Publish").click()
    await expect(problems).to_contain_text("Published.")
    await expect(page.locator("#rules-versions li")).to_have_count(2)
    assert "money back" in (await hub.store.current_rules()).source  # type: ignore[union-attr]
    await page.screenshot(path=str(screens / "supervisor-rules.png"), full_page=True)

    await page.get_by_label("Why roll back").fill("money back was too broad")
    await page.get_by_role("button", name="Roll back to v1").click()
    await expect(problems).to_contain_text("Rolled back to v1.")
    await expect(page.locator("#rules-versions li").first).to_contain_text("v3 by token:sue")
    await expect(editor).to_have_value(source)
    restored = await hub.store.current_rules()
    assert restored is not None
    assert (restored.version, restored.source) == (3, source)
    assert "money back was too broad" in restored.author


async def test_a_publish_over_a_version_published_meanwhile_is_refused(
    hub: Hub, page: Page
) -> None:
    await supervise(page, hub, hub.base_url)
    editor = page.get_by_label("The rules (YAML)")
    source = await editor.input_value()
    await editor.fill(source.replace("refund", "money back"))
    sneaky = await hub.token(Role.SUPERVISOR, "max")  # publishes while sue edits
    async with hub.http.put("/api/rules", data=source + "\n", headers=sneaky) as response:
        assert response.status == 200
    await page.get_by_role("button", name="Publish").click()
    problems = page.locator("#rules-problems")
    await expect(problems).to_contain_text("version 2 by token:max is in force")
    draft = await editor.input_value()
    await page.get_by_role("button", name="Reload").click()
    await expect(page.locator("#rules-version")).to_have_text("version 2")
    await editor.fill(draft)
    await page.get_by_role("button", name="Publish").click()
    await expect(problems).to_contain_text("Published.")
    current = await hub.store.current_rules()
    assert current is not None
    assert (current.version, current.author) == (3, "token:sue")
    assert "money back" in current.source


async def test_reports_show_figures_a_chart_and_a_csv_link(hub: Hub, page: Page) -> None:
    await post_contact(hub, "r1", "hello")
    await supervise(page, hub, hub.base_url)
    await expect(page.locator("#summary")).to_contain_text("created")
    await expect(page.locator("#summary div").first).to_contain_text("1")
    await expect(page.locator("#volume-chart svg rect")).to_have_count(1)
    await expect(page.locator("#response-chart svg")).to_have_attribute(
        "aria-label", re.compile(r"First response per day: \d{4}-\d\d-\d\d p50 none, p90 none")
    )
    await expect(page.locator("#sla-chart svg rect")).to_have_count(0)  # general has no SLA
    # nothing to draw: said, not a scale of nothing ("0m 01s" over an empty chart, once)
    await expect(page.locator("#response-chart svg text")).to_have_text(
        [re.compile(r"\d\d-\d\d"), "none yet in the window"]
    )
    answer = await page.request.get(hub.base_url + "/api/reports/volume?format=csv")
    assert answer.status == 200
    assert (await answer.text()).startswith("bucket,key,count")


async def test_reports_chart_first_responses_and_the_sla_met_per_day(
    hub: Hub, page: Page, screens: Path
) -> None:
    answered = await post_contact(hub, "r1", "a refund please")  # billing: first response 1h
    await post_contact(hub, "r2", "another refund")
    await hub.store.append_outbound(answered, "on it", "sue", datetime.now(UTC))  # replied
    await breach(hub, answered + 1)
    await supervise(page, hub, hub.base_url)
    day = await page.evaluate(
        "new Date().toLocaleDateString(undefined, { month: 'short', day: 'numeric' })"
    )
    await expect(page.locator("#response-chart svg rect")).to_have_count(2)  # p50, p90
    await expect(page.locator("#sla-chart svg")).to_have_attribute(
        "aria-label", re.compile(r"SLA met per day: \d{4}-\d\d-\d\d 50%$")
    )
    figures = page.locator("#summary div")
    await expect(figures.filter(has_text=re.compile("^50%SLA met$"))).to_have_count(1)
    # billing's clocks: a first response (missed by one) and a resolution (met by both)
    await expect(figures.filter(has_text="first response SLA")).to_have_text(
        "50%first response SLA met, of 2"
    )
    await expect(figures.filter(has_text="resolution SLA")).to_have_text(
        "100%resolution SLA met, of 2"
    )
    await page.locator("#reports-title").scroll_into_view_if_needed()
    await page.screenshot(path=str(screens / "supervisor-reports.png"), full_page=True)
    # behind a figure, its tickets: the one that missed, opening in the inbox
    await page.get_by_role("button", name="Tickets behind first response SLA missed").click()
    await expect(page.locator("#behind-title")).to_have_text(
        'Tickets behind "first response SLA missed": 1'
    )
    await expect(page.locator("#behind-title")).to_be_focused()
    behind = page.locator("#behind-list li")
    await expect(behind).to_have_text([f"#{answered + 1} Form of {day} · new · billing"])
    csv = await page.locator("#behind-csv").get_attribute("href")
    assert csv is not None
    assert ("clock=first_response" in csv, "format=csv" in csv) == (True, True)
    await page.get_by_role("button", name="Tickets behind created").click()
    await expect(behind).to_have_count(2)
    await behind.first.get_by_role("link").click()
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{answered} ")


async def breach(hub: Hub, ticket_id: int) -> None:
    """The SLA clock's breach of the ticket's first response, as the watcher writes it."""
    now = datetime.now(UTC)
    detail = {"metric": "first_response", "key": "k", "due": now.isoformat(), "queue": "billing"}
    change = TicketChange(actor=CLOCK, cause=Cause(EventKind.SLA_BREACH, detail), once=True)
    await hub.store.update_ticket(ticket_id, change, now)


async def test_the_live_queues_show_the_sla_today_and_breaches_without_a_reload(
    hub: Hub, page: Page, screens: Path
) -> None:
    await supervise(page, hub, hub.base_url)
    billing = page.locator("#queues tr[data-queue=billing]")
    await expect(billing.locator("td.sla")).to_have_text("—")
    await expect(billing.locator("td.breaches")).to_have_text("0")
    ann = await hub.token(Role.AGENT, "ann")  # no queues of her own: serves every queue
    async with hub.http.post("/api/agents/me/presence", json={"status": "away"}, headers=ann):
        pass
    first = await post_contact(hub, "s1", "a refund please")
    await expect(billing.locator("td.sla")).to_have_text("100%", timeout=10_000)
    await expect(billing.locator("td.staff")).to_contain_text("away 1")
    await post_contact(hub, "s2", "a refund again")
    await breach(hub, first)  # the stream's sla.breached redraws the row (reads 3 s apart)
    await expect(billing.locator("td.sla")).to_have_text("50%", timeout=10_000)
    await expect(billing.locator("td.breaches")).to_have_text("1")
    await expect(page.locator("#queues tr[data-queue=general] td.sla")).to_have_text("—")
    await page.screenshot(path=str(screens / "supervisor.png"))


async def test_the_supervisors_view_fits_a_phone(hub: Hub, page: Page, screens: Path) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await post_contact(hub, "p1", "a refund please")
    await supervise(page, hub, hub.base_url)
    await expect(page.locator("#queues tr[data-queue=billing] td.sla")).to_have_text(
        "100%", timeout=10_000
    )
    await expect(page.locator("#sla-chart svg")).to_be_visible()
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the page is {wide} px wide on a 390 px screen"
    await page.screenshot(path=str(screens / "supervisor-phone.png"), full_page=True)


async def test_a_supervisor_edits_an_agent_and_sets_their_presence(hub: Hub, page: Page) -> None:
    await secret_of(hub, Role.AGENT, "ann")
    await supervise(page, hub, hub.base_url)
    await page.get_by_role("button", name="Edit ann").click()
    form = page.locator("#agent-edit")
    await expect(page.get_by_role("heading", name="Edit ann")).to_be_focused()
    await form.get_by_label("Skills (comma separated)").fill("billing, french")
    await form.get_by_label("email").fill("3")
    await form.get_by_label("billing").check()
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator("#agent-edit-said")).to_have_text("Saved.")
    ann = await hub.store.get_agent("ann")
    assert (set(ann.skills), ann.capacity["email"], set(ann.queues)) == (
        {"billing", "french"}, 3, {"billing"},
    )  # fmt: skip
    assert ann.capacity["sms"] == 5  # the rest as it was
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator("#agent-edit-said")).to_have_text("Nothing changed.")
    await form.get_by_label("supervisor").check()  # a supervisor grants it: an admin's call
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator("#agent-edit-said")).to_contain_text("an admin's call")
    assert (await hub.store.get_agent("ann")).roles == ann.roles
    await form.get_by_label("Presence").select_option("away")
    await form.get_by_role("button", name="Set presence").click()
    await expect(form.locator("#agent-edit-said")).to_have_text("ann is away.")
    await expect(page.locator("#agents tr[data-agent=ann] .presence")).to_have_text("away")


async def test_reports_narrow_to_a_queue_and_a_period_and_list_the_agents(
    hub: Hub, page: Page
) -> None:
    answered = await post_contact(hub, "r1", "a refund please")  # billing
    await post_contact(hub, "r2", "hello")  # general
    await hub.store.append_outbound(answered, "on it", "sue", datetime.now(UTC))
    await supervise(page, hub, hub.base_url)
    created = page.locator("#summary div").first
    await expect(created).to_have_text("2created")
    await expect(page.locator("#report-agents tbody tr")).to_have_count(1)
    await expect(page.locator("#report-agents tbody tr")).to_contain_text("sue")
    await page.get_by_role("button", name="Tickets sue handled").click()
    await expect(page.locator("#behind-title")).to_have_text('Tickets behind "handled by sue": 1')
    await expect(page.locator("#behind-list li")).to_have_text([re.compile(rf"^#{answered} ")])
    filters = page.locator("#report-filter")
    await filters.get_by_label("Queue").select_option("billing")
    await expect(created).to_have_text("1created")
    await expect(page.locator("#csv-summary")).to_have_attribute(
        "href", re.compile("queue=billing")
    )
    volume = await page.locator("#csv-volume").get_attribute("href")
    assert volume is not None
    answer = await page.request.get(hub.base_url + volume)
    assert answer.status == 200
    rows = (await answer.text()).splitlines()
    assert len(rows) == 2  # the header and billing's one day
    await filters.get_by_label("Period").select_option("90")
    await expect(page.locator("#volume-title")).to_have_text("Tickets created per week")
    await expect(page.locator("#report-window")).to_contain_text("last 90 days")
    await filters.get_by_label("Channel").select_option("sms")
    await expect(created).to_have_text("0created")


async def test_a_queue_shows_what_waits_in_it_most_pressing_first(hub: Hub, page: Page) -> None:
    first = await post_contact(hub, "q1", "a refund please")  # billing
    second = await post_contact(hub, "q2", "another refund")
    await post_contact(hub, "q3", "hello")  # general
    headers = await hub.token(Role.SUPERVISOR, "sue")
    async with hub.http.patch(
        f"/api/tickets/{second}", json={"priority": "urgent"}, headers=headers
    ) as response:
        assert response.status == 200
    await supervise(page, hub, hub.base_url)
    await page.get_by_role("button", name="What waits in billing").click()
    await expect(page.locator("#waiting-title")).to_have_text("Waiting in billing: 2")
    rows = page.locator("#waiting-list tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text(f"#{second}")  # urgent before older normal
    await expect(rows.nth(1)).to_contain_text(f"#{first}")
    await post_contact(hub, "q4", "a third refund")  # live: the list follows the depth
    await expect(page.locator("#waiting-title")).to_have_text("Waiting in billing: 3")
    await rows.first.get_by_role("link").click()
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{second} ")
    await expect(page.locator("#agent")).to_be_visible()
