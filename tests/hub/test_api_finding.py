"""Finding work over real HTTP, on SQLite and on Redis: `GET /api/tickets` filters, searches,
and refuses what it does not understand (unknown parameters, cursors that are no id)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import form_body, form_headers

BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings) -> Hub:
    """A hub on which a customer's next form within the hour joins their live ticket."""
    return await start_hub(make_settings(threading={"reopen_window": {"form": "1h"}}))


async def submit(hub: Hub, external_id: str, **fields: str) -> int:
    body = form_body(external_id, **fields)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as response:
        assert response.status in (200, 201)
        return int((await response.json())["ticket_id"])


async def listed(hub: Hub, query: str, auth: dict[str, str]) -> list[int]:
    async with hub.http.get(f"/api/tickets?{query}", headers=auth) as response:
        assert response.status == 200, await response.text()
        page = await response.json()
    return [ticket["id"] for ticket in page["items"]]


async def refused(hub: Hub, query: str) -> str:
    auth = await hub.token(Role.AGENT)
    async with hub.http.get(f"/api/tickets?{query}", headers=auth) as response:
        assert response.status == 400, query
        answer: dict[str, Any] = await response.json()
    return str(answer["error"])


async def test_assignee_is_me_none_or_a_name(hub: Hub) -> None:
    first = await submit(hub, "w1", email="a@example.com")
    second = await submit(hub, "w2", email="b@example.com")
    third = await submit(hub, "w3", email="c@example.com")
    alice = await hub.token(Role.AGENT, "alice")
    # Assignees are people (live tokens), and only a supervisor gives a ticket to another.
    bob = await hub.token(Role.AGENT, "bob")
    sue = await hub.token(Role.SUPERVISOR, "sue")
    async with hub.http.post("/api/queues/general/claim", headers=alice) as response:
        assert (await response.json())["id"] == first
    async with hub.http.patch(
        f"/api/tickets/{second}", json={"assignee": "bob"}, headers=sue
    ) as response:
        assert response.status == 200
    assert await listed(hub, "assignee=me", alice) == [first]
    assert await listed(hub, "assignee=bob", alice) == [second]
    assert await listed(hub, "assignee=none", alice) == [third]
    assert await listed(hub, "assignee=me", bob) == [second]
    assert await listed(hub, "assignee=none&queue=general&status=new", alice) == [third]


async def test_q_finds_words_of_subjects_and_of_later_messages(hub: Hub) -> None:
    printer = await submit(hub, "w1", subject="Printer on FIRE", message="help")
    await submit(hub, "w2", email="other@example.com", message="my printer is fine")
    again = await submit(hub, "w3", message="Smoke everywhere, order 77-B")  # the follow-up
    assert again == printer
    auth = await hub.token(Role.AGENT)
    assert await listed(hub, "q=fire", auth) == [printer]
    assert await listed(hub, "q=printer+smoke", auth) == [printer]
    assert await listed(hub, "q=SMOKE%20fire%2C%20printer", auth) == [printer]
    assert await listed(hub, "q=77", auth) == [printer]
    assert len(await listed(hub, "q=printer", auth)) == 2
    assert await listed(hub, "q=printer&channel=form&assignee=none&limit=1", auth) == [printer + 1]
    assert await listed(hub, "q=printer+water", auth) == []
    assert await listed(hub, "q=&channel=sms", auth) == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("assigne=me", "unknown parameter 'assigne' (did you mean 'assignee'?)"),
        ("sla=late", "sla must be one of at_risk, breached"),
        ("queue=general&colour=red&Status=new", "unknown parameter 'Status' (did you mean"),
        ("status=new&status=open", "parameter 'status' given more than once"),
        ("q=%21%3F", "q has no words"),
        ("q=" + "+".join(f"w{i}" for i in range(17)), "up to 16 words"),
        ("customer=%C2%B2", "customer must be a whole number"),
        ("limit=007", "limit must be a whole number"),
        ("status=sleeping", "status must be one of"),
        ("ids=1,two", "each of ids must be a whole number"),
        ("ids=1,,2", "ids are ticket numbers separated by commas"),
        ("ids=" + ",".join(map(str, range(1, 202))), "ids may name up to 200 tickets"),
    ],
    ids=[
        "unknown-suggested", "bad-sla", "several-unknown", "repeated", "no-words",
        "too-many-words", "superscript-digit", "leading-zero", "bad-status", "ids-not-numbers",
        "ids-empty-between", "ids-too-many",
    ],
)  # fmt: skip
async def test_what_the_listing_cannot_use_is_400_naming_it(
    hub: Hub, query: str, error: str
) -> None:
    assert error in await refused(hub, query)


async def test_ids_list_the_named_tickets_newest_first(hub: Hub) -> None:
    first = await submit(hub, "w1", email="a@example.com")
    second = await submit(hub, "w2", email="b@example.com")
    third = await submit(hub, "w3", email="c@example.com")
    auth = await hub.token(Role.AGENT)
    assert await listed(hub, f"ids={first},{third}", auth) == [third, first]
    assert await listed(hub, f"ids={third},{first},99&limit=1", auth) == [third]
    assert await listed(hub, f"ids={second}&assignee=none", auth) == [second]
    assert await listed(hub, "ids=", auth) == []  # named none: none listed


async def test_several_unknown_parameters_are_all_named(hub: Hub) -> None:
    error = await refused(hub, "colour=red&queue=general&size=xl")
    assert "unknown parameter 'colour'" in error
    assert "unknown parameter 'size'" in error


@pytest.mark.parametrize(
    "cursor",
    ["9007199254740995", str(2**63), "-1", "9" * 2000, "1e9", "abc", "%C2%B2"],
    ids=["2^53+3", "2^63", "negative", "huge", "exponent", "word", "superscript"],
)
async def test_a_cursor_that_is_no_id_is_400_at_once(hub: Hub, cursor: str) -> None:
    await submit(hub, "w1")
    started = time.monotonic()
    assert "not a cursor" in await refused(hub, f"cursor={cursor}")
    assert time.monotonic() - started < 2
    async with hub.http.get("/readyz") as response:  # and storage still answers everyone
        assert response.status == 200


async def test_cursors_at_the_ends_of_the_id_space_answer_pages(hub: Hub) -> None:
    ticket = await submit(hub, "w1")
    auth = await hub.token(Role.AGENT)
    assert await listed(hub, "cursor=0", auth) == []
    assert await listed(hub, "cursor=9007199254740991", auth) == [ticket]


async def test_missing_ids_too_large_or_not_decimal_are_400_not_500(hub: Hub) -> None:
    auth = await hub.token(Role.AGENT)
    for path in ("/api/tickets/99999999999999999999999", "/api/tickets/%C2%B2"):
        async with hub.http.get(path, headers=auth) as response:
            assert response.status == 400, path


async def test_openapi_lists_the_listing_parameters(hub: Hub) -> None:
    async with hub.http.get("/api/openapi.json") as response:
        document = await response.json()
    parameters = document["paths"]["/api/tickets"]["get"]["parameters"]
    assert {p["name"] for p in parameters} == {
        "assignee", "queue", "status", "customer", "channel", "q", "sla", "ids", "limit",
        "cursor",
    }  # fmt: skip
    sla = next(p for p in parameters if p["name"] == "sla")
    assert sla["schema"] == {"enum": ["breached", "at_risk"]}
