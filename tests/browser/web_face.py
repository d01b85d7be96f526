"""What the web face's browser tests share: a hub with a queue that offers its tickets, its
agents, sign-in through the page, contacts posted through the signed form webhook, and where
screenshots go."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from core.model import Role
from tests.conftest import Hub
from tests.support import form_body, form_headers

RULES = """
calendars:
  always: {timezone: UTC, weekly: {mon-sun: "00:00-24:00"}}
queues:
  general: {kind: inbound, tier: 1}
  billing:
    kind: inbound
    tier: 1
    calendar: always
    sla: {first_response: 1h, resolution: 8h}
    assign: {policy: round_robin, offer_timeout: 60s, skills: required}
  experts: {kind: inbound, tier: 2}
rules:
  - name: billing words
    when: {body: {contains: [refund]}}
    then: {queue: billing, skills: [billing]}
default: {queue: general}
"""


def hub_sections(tmp_path: Path, rules_text: str = RULES, **extra: Any) -> dict[str, Any]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text, encoding="utf-8")
    return {
        "routing": {"rules": str(rules), "watch_interval": "0s"},
        "agents": {"offer_tick": 0.1, "presence_timeout": "60s"},
        **extra,
    }


async def secret_of(hub: Hub, role: Role, name: str, skills: list[str] | None = None) -> str:
    """A token's secret for agent `name` (with these skills, set by an admin)."""
    secret = (await hub.token(role, name))["Authorization"].split(" ", 1)[1]
    if skills is not None:
        admin = await hub.token(Role.ADMIN, "boss")
        body = {"skills": skills}
        async with hub.http.put(f"/api/agents/{name}", json=body, headers=admin) as response:
            assert response.status == 200
    return secret


async def sign_in(page: Page, base_url: str, secret: str, name: str) -> None:
    """Sign in from the first visit, which fails no request (the console says every 4xx:
    the page's look for a session once did)."""
    failed: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type == "error":
            failed.append(message.text)

    page.on("console", note)
    async with page.expect_response(lambda r: r.url.endswith("/web/session")):
        await page.goto(base_url + "/")  # the page's look for a session has been answered
    await page.wait_for_load_state("load")
    page.remove_listener("console", note)
    assert failed == [], failed
    await page.get_by_label("Your API token").fill(secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who")).to_contain_text(name)
    await expect(page.locator("#live")).to_have_text("live")


async def post_contact(hub: Hub, external_id: str, message: str) -> int:
    body = form_body(external_id, message=message)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as answer:
        assert answer.status == 201
        return int((await answer.json())["ticket_id"])


@pytest.fixture
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests' screenshots go: $CONTACTHUB_SCREENS, or a tmp dir of the run."""
    given = os.environ.get("CONTACTHUB_SCREENS")
    folder = Path(given) if given else tmp_path_factory.getbasetemp() / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


AXE = resources.files("axe_playwright_python").joinpath("axe.min.js")
"""axe-core as the axe-playwright-python package ships it (installed by scripts/setup)."""
BLOCKING = ("serious", "critical")


async def audit(page: Page, screen: str) -> None:
    """axe-core's audit of what the page shows now: no serious or critical violation."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    results = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]
    assert found == [], f"accessibility violations on the {screen} screen:\n" + "\n".join(found)
