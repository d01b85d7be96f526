"""A customer's burst through the real hub on Redis succeeds on the first try (issue 19,
part 2): one email to many support mailboxes from a new customer over SMTP, and concurrent
forms from a known customer over HTTP, under rules that read the customer's history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.model import TicketFilter
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import compose, send, smtp_port
from tests.support import FORM_SECRET, form_body, form_headers

RULES = """\
queues: {general: {}, followups: {}}
default: {queue: general}
rules:
  - name: busy customer
    when: {customer.open_tickets: {gte: 1}}
    then: {queue: followups}
"""
MAILBOXES = [f"desk{i}@hub.example" for i in range(50)]


@pytest.fixture(params=["redis_url", "redis_cluster_url"])
async def hub(
    request: pytest.FixtureRequest, start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> Hub:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    url = str(request.getfixturevalue(request.param))
    channels = {"webform": {"secret": FORM_SECRET}, "smtp": {"port": 0, "mailboxes": MAILBOXES}}
    return await start_hub(
        make_settings(channels=channels, storage={"url": url}, routing={"rules": str(rules)})
    )


async def messages(hub: Hub) -> int:
    page = await hub.store.list_tickets(TicketFilter(), limit=200)
    return sum([len((await hub.store.get_ticket(t.id)).messages) for t in page.items])


@pytest.mark.parametrize("count", [8, 50])
async def test_one_email_to_many_mailboxes_is_taken_on_the_first_try(hub: Hub, count: int) -> None:
    raw = compose(to=", ".join(MAILBOXES[:count]))
    assert await send(smtp_port(hub), raw, MAILBOXES[:count], "new@example.com") == 250
    assert await messages(hub) == count


@pytest.mark.parametrize("count", [10, 20])
async def test_concurrent_forms_of_a_known_customer_are_all_taken(hub: Hub, count: int) -> None:
    async def submit(external_id: str) -> int:
        body = form_body(external_id)
        async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
            return r.status

    assert await submit("first") == 201
    statuses = await asyncio.gather(*(submit(f"f{i}") for i in range(count)))
    assert statuses == [201] * count
    assert await messages(hub) == count + 1
