"""Saved replies in a real headless Chromium: a supervisor writes, edits and deletes them on
the page (a bad placeholder refused with the API's reason, nothing kept); an agent inserts one,
filled in for the ticket, at the cursor of the reply box and sends it; a ticket of another
queue is offered only those for every queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page, expect

from core.model import Role
from tests.browser.test_web_agent import hub, outbox
from tests.browser.web_face import audit, screens, secret_of, sign_in
from tests.conftest import Hub
from tests.hub.email_support import Outbox
from tests.hub.test_working_tickets import call
from tests.support import form_body, form_headers

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["hub", "outbox", "screens"]  # fixtures, used by name: the agent tests' hub

REFUND = "Hi {customer.first_name|there}, ticket #{ticket.id} is refunded."
HELLO = "Hello {customer.first_name|there}!"


async def stored(hub: Hub) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [(r.name, r.body, r.queues, r.updated_by) for r in await hub.store.list_saved_replies()]


async def test_a_supervisor_writes_edits_and_deletes_saved_replies(
    hub: Hub, page: Page, screens: Path
) -> None:
    await sign_in(page, hub.base_url, await secret_of(hub, Role.SUPERVISOR, "sue"), "sue")
    await page.get_by_role("button", name="Supervisor").click()
    form, rows = page.locator("#saved-edit"), page.locator("#saved-replies tbody tr")
    await expect(page.locator("#saved-none")).to_be_visible()
    await form.get_by_label("Reply name").fill("Refund sent")
    await form.get_by_label("Body").fill("Hi {customer.nmae}, refunded.")
    await form.get_by_label("billing").check()
    await form.get_by_role("button", name="Save").click()
    alert = form.get_by_role("alert")
    await expect(alert).to_contain_text("unknown placeholder(s) {customer.nmae}")
    assert await stored(hub) == []
    await expect(form.get_by_label("Reply name")).to_have_value("Refund sent")  # kept, to correct

    await form.get_by_label("Body").fill(REFUND)
    await form.get_by_role("button", name="Save").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Refund sentbillingsue · ")
    await expect(alert).to_be_empty()
    await expect(form.get_by_label("Reply name")).to_have_value("")  # ready for the next one
    assert await stored(hub) == [("Refund sent", REFUND, ("billing",), "sue")]

    await page.get_by_role("button", name="Edit Refund sent", exact=True).click()
    await expect(page.get_by_role("heading", name="Edit Refund sent")).to_be_focused()
    await expect(form.get_by_label("Body")).to_have_value(REFUND)
    await expect(form.get_by_label("billing")).to_be_checked()
    await form.get_by_label("Reply name").fill("Refund done")
    await form.get_by_label("billing").uncheck()
    await form.get_by_role("button", name="Save").click()
    await expect(rows.first).to_contain_text("Refund doneevery queuesue")
    await expect(rows).to_have_count(1)  # replaced, not added
    assert await stored(hub) == [("Refund done", REFUND, (), "sue")]
    await audit(page, "saved replies")
    await page.locator("#saved-title").scroll_into_view_if_needed()
    await page.screenshot(path=str(screens / "supervisor-saved-replies.png"))

    asked = await delete_when_confirmed(page, hub, "Refund done")
    assert (
        asked == ['Delete the saved reply "Refund done"? Agents will no longer be offered it.'] * 2
    )
    await expect(rows).to_have_count(0)
    await expect(page.locator("#saved-said")).to_have_text("Deleted Refund done.")
    await expect(alert).to_be_empty()  # a first Delete that deleted would make this one a 404
    assert await stored(hub) == []


async def delete_when_confirmed(page: Page, hub: Hub, name: str) -> list[str]:
    """Press `name`'s Delete and dismiss the question (it stays), then press it and accept:
    the questions asked."""
    asked: list[str] = []

    def answer(accept: bool) -> None:
        async def on(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        page.once("dialog", on)

    delete = page.get_by_role("button", name=f"Delete {name}", exact=True)
    answer(accept=False)
    await delete.click()
    assert [r.name for r in await hub.store.list_saved_replies()] == [name]
    answer(accept=True)
    await delete.click()
    return asked


async def post_named(hub: Hub, external_id: str, message: str, **who: str) -> int:
    body = form_body(external_id, message=message, **who)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as answer:
        assert answer.status == 201
        return int((await answer.json())["ticket_id"])


async def open_ticket(page: Page, ticket_id: int) -> None:
    search = page.get_by_role("searchbox", name="Find tickets")
    await search.fill(f"#{ticket_id}")
    await search.press("Enter")
    await expect(page.locator("#ticket h2")).to_contain_text(f"#{ticket_id} ")


async def test_an_agent_inserts_a_filled_in_saved_reply_at_the_cursor_and_sends_it(
    hub: Hub, page: Page, outbox: tuple[Outbox, int], screens: Path
) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    for name, body, queues in [("Refund sent", REFUND, ["billing"]), ("Hello", HELLO, [])]:
        reply = {"name": name, "body": body, "queues": queues}
        assert (await call(hub, "POST", "/api/saved-replies", sue, reply))[0] == 201
    billing = await post_named(hub, "s1", "a refund please", name="Ada Lovelace")
    general = await post_named(hub, "s2", "where is my parcel?", email="bo@example.com")
    await sign_in(page, hub.base_url, await secret_of(hub, Role.AGENT, "ann"), "ann")
    await open_ticket(page, billing)

    saved = page.get_by_label("Saved reply", exact=True)
    await expect(saved.locator("option")).to_have_text(
        ["insert a saved reply…", "Hello", "Refund sent"]
    )
    box = page.get_by_label("Reply (by email to ada@example.com)")
    await box.fill("Dear Ada,\n___\n-- ann")
    await box.evaluate("el => el.setSelectionRange(10, 13)")  # the blank, selected
    await saved.select_option(label="Refund sent")
    text = f"Hi Ada, ticket #{billing} is refunded."
    await expect(box).to_have_value(f"Dear Ada,\n{text}\n-- ann")
    await expect(box).to_be_focused()
    assert await box.evaluate("el => [el.selectionStart, el.selectionEnd]") == [10 + len(text)] * 2
    await expect(saved).to_have_value("")  # ready to insert another
    await audit(page, "ticket with saved replies")
    await page.screenshot(path=str(screens / "agent-saved-reply.png"))

    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator(".conversation .msg.outbound")).to_contain_text(text)
    (mail,) = await outbox[0].wait_for(1)
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert text in plain.get_content()
    last = (await hub.store.get_ticket(billing)).messages[-1]
    assert (last.body, last.author) == (f"Dear Ada,\n{text}\n-- ann", "ann")
    await expect(saved.locator("option")).to_have_count(3)  # still there after the redraw

    await open_ticket(page, general)  # no refund here: only the one for every queue
    await expect(saved.locator("option")).to_have_text(["insert a saved reply…", "Hello"])
    await saved.select_option(label="Hello")
    await expect(page.get_by_label("Reply (by email to bo@example.com)")).to_have_value(
        "Hello there!"
    )
