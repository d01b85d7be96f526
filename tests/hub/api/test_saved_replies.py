"""Saved replies over HTTP: supervisors write them, agents get them filled in per ticket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.test_api import submit
from tests.hub.test_working_tickets import call, routed

BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis

REFUND = {
    "name": "Refund sent",
    "body": "Hi {customer.first_name|there}, ticket #{ticket.id} is refunded. {agent.name}",
    "queues": ["billing"],
}


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    return await start_hub(routed(make_settings, tmp_path))


async def test_an_agent_gets_the_ones_for_the_tickets_queue_filled_in(hub: Hub) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    status, saved = await call(hub, "POST", "/api/saved-replies", sue, REFUND)
    assert status == 201
    assert (saved["name"], saved["queues"], saved["updated_by"]) == (
        "Refund sent",
        ["billing"],
        "sue",
    )
    greeting = {"name": "Hello", "body": "Hello {customer.name|}!"}  # every queue
    assert (await call(hub, "POST", "/api/saved-replies", sue, greeting))[0] == 201
    billing = await submit(hub, "f1", name="Ada Lovelace", message="a refund please")
    general = await submit(hub, "f2", email="x@example.com", message="hello")
    ann = await hub.token(Role.AGENT, "ann")
    status, listed = await call(hub, "GET", f"/api/saved-replies?ticket={billing}", ann)
    assert status == 200
    assert [(r["name"], r["text"]) for r in listed["items"]] == [
        ("Hello", "Hello Ada Lovelace!"),
        ("Refund sent", f"Hi Ada, ticket #{billing} is refunded. ann"),
    ]
    _, listed = await call(hub, "GET", f"/api/saved-replies?ticket={general}", ann)
    assert [(r["name"], r["text"]) for r in listed["items"]] == [("Hello", "Hello !")]
    _, every = await call(hub, "GET", "/api/saved-replies", ann)
    assert [r["name"] for r in every["items"]] == ["Hello", "Refund sent"]
    assert "text" not in every["items"][0]
    _, general_ones = await call(hub, "GET", "/api/saved-replies?queue=general", ann)
    assert [r["name"] for r in general_ones["items"]] == ["Hello"]


async def test_a_customer_without_a_name_gets_the_fallback(hub: Hub) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    await call(hub, "POST", "/api/saved-replies", sue, REFUND)
    ticket = await submit(hub, "f1", email="nameless@example.com", message="refund")
    _, listed = await call(hub, "GET", f"/api/saved-replies?ticket={ticket}", sue)
    assert listed["items"][0]["text"] == f"Hi there, ticket #{ticket} is refunded. sue"


async def test_a_supervisor_replaces_and_deletes_one(hub: Hub) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    _, saved = await call(hub, "POST", "/api/saved-replies", sue, REFUND)
    path = f"/api/saved-replies/{saved['id']}"
    changed = {"name": "Refund done", "body": "Done."}
    status, replaced = await call(hub, "PUT", path, sue, changed)
    assert (status, replaced["name"], replaced["body"], replaced["queues"]) == (
        200, "Refund done", "Done.", [],
    )  # fmt: skip
    async with hub.http.delete(path, headers=sue) as response:
        assert response.status == 204
    assert (await call(hub, "GET", "/api/saved-replies", sue))[1]["items"] == []
    status, gone = await call(hub, "PUT", path, sue, changed)
    assert (status, gone["error"]) == (404, f"no saved reply {saved['id']}")


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"name": "x", "body": "Hi {customer.nmae}"}, 400, "unknown placeholder(s) {customer.n"),
        ({"name": "x", "body": "a { b"}, 400, "a lone '{' at character 3"),
        ({"name": "x", "body": "hi", "queues": ["biling"]}, 400, "queues: no queue 'biling'"),
        ({"name": "x", "body": "hi", "queues": "billing"}, 400, "queues must be a list"),
        ({"name": "  ", "body": "hi"}, 400, "name must be a non-empty string"),
        ({"name": "x", "body": ""}, 400, "body must be a non-empty string"),
        ({"name": "x", "body": "y" * 10_001}, 400, "body is longer than 10000 characters"),
        ({"name": "x", "body": "hi", "id": 3}, 400, "unknown field(s): id"),
        ({"name": "refund SENT", "body": "hi"}, 409, "a saved reply is named 'refund SENT'"),
    ],
    ids=[
        "unknown-placeholder", "lone-brace", "unknown-queue", "queues-not-a-list", "blank-name",
        "empty-body", "long-body", "unknown-field", "name-taken",
    ],
)  # fmt: skip
async def test_a_bad_save_is_refused_with_its_reason_and_keeps_nothing(
    hub: Hub, body: dict[str, Any], status: int, reason: str
) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    await call(hub, "POST", "/api/saved-replies", sue, REFUND)
    answer_status, answer = await call(hub, "POST", "/api/saved-replies", sue, body)
    assert (answer_status, answer["error"][: len(reason)]) == (status, reason)
    assert [r["name"] for r in (await call(hub, "GET", "/api/saved-replies", sue))[1]["items"]] == [
        "Refund sent"
    ]


async def test_agents_read_but_do_not_write_them(hub: Hub) -> None:
    ann = await hub.token(Role.AGENT, "ann")
    status, answer = await call(hub, "POST", "/api/saved-replies", ann, REFUND)
    assert status == 403
    assert "supervisor" in answer["error"]
    status, answer = await call(hub, "GET", "/api/saved-replies?ticket=99", ann)
    assert (status, answer["error"]) == (404, "no ticket 99")
    status, answer = await call(hub, "GET", "/api/saved-replies?ticket=x", ann)
    assert (status, answer["error"]) == (400, "ticket must be a whole number")
