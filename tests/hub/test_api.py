"""The REST API over real HTTP with real tokens: auth, roles, tickets, queues, customers."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.model import Role
from tests.conftest import Hub
from tests.support import form_body, form_headers


async def submit(hub: Hub, external_id: str, **fields: str) -> int:
    body = form_body(external_id, **fields)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as response:
        assert response.status in (200, 201)
        return int((await response.json())["ticket_id"])


async def get(hub: Hub, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with hub.http.get(path, headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer ch_not-a-real-token"],
    ids=["missing", "empty-bearer", "basic", "unknown"],
)
async def test_api_without_a_live_token_is_401(hub: Hub, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with hub.http.get("/api/tickets", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "token" in (await response.json())["error"]


async def test_openapi_document_is_public_and_lists_the_api(hub: Hub) -> None:
    status, document = await get(hub, "/api/openapi.json", {})
    assert status == 200
    assert document["openapi"].startswith("3.")
    assert {"/api/tickets", "/api/tickets/{id}", "/api/queues/{name}/claim"} <= set(
        document["paths"]
    )


async def test_ticket_read_has_messages_and_route(hub: Hub) -> None:
    ticket_id = await submit(hub, "w1", subject="Refund", message="Charged twice")
    auth = await hub.token(Role.AGENT)
    status, ticket = await get(hub, f"/api/tickets/{ticket_id}", auth)
    assert status == 200
    assert ticket["subject"] == "Refund"
    assert ticket["status"] == "new"
    assert ticket["route"] == {
        "rule": None,
        "explanation": ["no rule set the queue: default queue 'general'"],
        "rules_version": None,
    }
    (message,) = ticket["messages"]
    assert (message["direction"], message["body"], message["external_id"]) == (
        "inbound",
        "Charged twice",
        "w1",
    )
    assert message["at"].endswith("Z")


async def test_control_characters_a_customer_sent_are_not_stored(hub: Hub) -> None:
    ticket_id = await submit(hub, "w1", subject="Re\x00fund\x1b", message="Char\x08ged\r\ntwice")
    auth = await hub.token(Role.AGENT)
    _, ticket = await get(hub, f"/api/tickets/{ticket_id}", auth)
    assert ticket["subject"] == "Refund"
    assert [m["body"] for m in ticket["messages"]] == ["Charged\r\ntwice"]


async def test_a_ticket_read_may_ask_for_its_newest_messages_and_record_entries(
    hub: Hub,
) -> None:
    """`?messages=N`: the newest N and the notes since the first of them, `messages_total`
    counting all; `/events?last=N`: the record's newest N, `total` counting all."""
    ticket_id = await submit(hub, "w1", message="first")
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.post(
        f"/api/tickets/{ticket_id}/notes", json={"body": "an early note"}, headers=auth
    ) as response:
        assert response.status == 201
    for n in range(3):
        at = datetime.now(UTC) + timedelta(minutes=n + 1)  # after the note
        await hub.store.append_outbound(ticket_id, f"reply {n}", "ann", at)
    _, whole = await get(hub, f"/api/tickets/{ticket_id}", auth)
    assert (len(whole["messages"]), whole["messages_total"]) == (4, 4)
    assert [n["body"] for n in whole["notes"]] == ["an early note"]
    _, newest = await get(hub, f"/api/tickets/{ticket_id}?messages=2", auth)
    assert [m["body"] for m in newest["messages"]] == ["reply 1", "reply 2"]
    assert (newest["messages_total"], newest["notes"]) == (4, [])  # the note came before
    _, record = await get(hub, f"/api/tickets/{ticket_id}/events?last=2", auth)
    assert [e["kind"] for e in record["items"]] == ["reply_out", "reply_out"]
    assert record["total"] == len(
        (await get(hub, f"/api/tickets/{ticket_id}/events", auth))[1]["items"]
    )
    for query in ("messages=0", "messages=x", "messages=100001", "colour=red"):
        status, answer = await get(hub, f"/api/tickets/{ticket_id}?{query}", auth)
        assert (status, bool(answer["error"])) == (400, True), query
    status, _ = await get(hub, f"/api/tickets/{ticket_id}/events?last=0", auth)
    assert status == 400


async def test_ticket_list_filters_and_pages_with_a_cursor(hub: Hub) -> None:
    for i in range(5):
        await submit(hub, f"w{i}", email=f"c{i}@example.com")
    auth = await hub.token(Role.AGENT)
    seen: list[int] = []
    cursor = ""
    while True:
        status, page = await get(hub, f"/api/tickets?limit=2&cursor={cursor}", auth)
        assert status == 200
        seen += [t["id"] for t in page["items"]]
        if page["next"] is None:
            break
        cursor = page["next"]
    assert seen == [5, 4, 3, 2, 1]
    _, only_new = await get(hub, "/api/tickets?status=new&queue=general", auth)
    assert len(only_new["items"]) == 5
    _, none_closed = await get(hub, "/api/tickets?status=closed", auth)
    assert none_closed == {"items": [], "next": None}


@pytest.mark.parametrize(
    "query",
    ["status=sleeping", "limit=0", "limit=1000", "limit=ten", "cursor=abc", "customer=me"],
)
async def test_bad_list_arguments_are_400(hub: Hub, query: str) -> None:
    status, answer = await get(hub, f"/api/tickets?{query}", await hub.token(Role.AGENT))
    assert status == 400
    assert answer["error"]


async def test_missing_records_are_404(hub: Hub) -> None:
    auth = await hub.token(Role.AGENT)
    assert (await get(hub, "/api/tickets/999", auth))[0] == 404
    assert (await get(hub, "/api/customers/999", auth))[0] == 404
    assert (await get(hub, "/api/tickets/abc", auth))[0] == 400


async def test_agent_updates_status_and_priority(hub: Hub) -> None:
    ticket_id = await submit(hub, "w1")
    auth = await hub.token(Role.AGENT)
    async with hub.http.patch(
        f"/api/tickets/{ticket_id}", json={"status": "pending", "priority": "high"}, headers=auth
    ) as response:
        assert response.status == 200
        ticket = await response.json()
    assert (ticket["status"], ticket["priority"]) == ("pending", "high")


@pytest.mark.parametrize(
    ("role", "change", "status"),
    [
        (Role.AGENT, {"queue": "general"}, 403),
        (Role.SUPERVISOR, {"queue": "general"}, 200),
        (Role.SUPERVISOR, {"queue": "nowhere"}, 400),
        (Role.OUTBOUND, {"status": "open"}, 403),
        (Role.ADMIN, {"status": "solved"}, 400),
        (Role.ADMIN, {"colour": "red"}, 400),
        (Role.ADMIN, {"tags": "vip"}, 400),
        (Role.ADMIN, {"tags": ["vip", "vip", "billing"]}, 200),
    ],
    ids=[
        "agent-may-not-move", "supervisor-moves", "unknown-queue", "outbound-may-not-edit",
        "bad-status", "unknown-field", "tags-not-list", "tags-deduplicated",
    ],
)  # fmt: skip
async def test_ticket_updates_check_role_and_arguments(
    hub: Hub, role: Role, change: dict[str, Any], status: int
) -> None:
    ticket_id = await submit(hub, "w1")
    async with hub.http.patch(
        f"/api/tickets/{ticket_id}", json=change, headers=await hub.token(role)
    ) as response:
        assert response.status == status
        if status == 200 and "tags" in change:
            assert (await response.json())["tags"] == ["vip", "billing"]


async def test_malformed_update_body_is_400(hub: Hub) -> None:
    ticket_id = await submit(hub, "w1")
    headers = {**await hub.token(Role.AGENT), "Content-Type": "application/json"}
    async with hub.http.patch(f"/api/tickets/{ticket_id}", data=b"{", headers=headers) as response:
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]


async def test_claim_hands_out_tickets_then_204(hub: Hub) -> None:
    first = await submit(hub, "w1", email="a@example.com")
    second = await submit(hub, "w2", email="b@example.com")
    auth = await hub.token(Role.AGENT, "alice")
    claimed = []
    for _ in range(2):
        async with hub.http.post("/api/queues/general/claim", headers=auth) as response:
            assert response.status == 200
            claimed.append(await response.json())
    assert [t["id"] for t in claimed] == [first, second]
    assert {(t["assignee"], t["status"]) for t in claimed} == {("alice", "open")}
    async with hub.http.post("/api/queues/general/claim", headers=auth) as response:
        assert response.status == 204
    async with hub.http.post("/api/queues/nowhere/claim", headers=auth) as response:
        assert response.status == 404  # neither the rules' nor holding tickets
        assert (await response.json())["error"] == "no queue 'nowhere'"


async def test_outbound_role_may_read_but_not_claim(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND)
    assert (await get(hub, "/api/queues", auth))[0] == 200
    async with hub.http.post("/api/queues/general/claim", headers=auth) as response:
        assert response.status == 403
        assert "needs agent" in (await response.json())["error"]


async def test_a_queue_lists_what_waits_most_pressing_first_and_how_many(hub: Hub) -> None:
    first = await submit(hub, "w1", email="a@example.com")
    second = await submit(hub, "w2", email="b@example.com")
    third = await submit(hub, "w3", email="c@example.com")
    auth = await hub.token(Role.SUPERVISOR, "sue")
    for ticket_id, change in ((third, {"priority": "high"}), (first, {"assignee": "sue"})):
        async with hub.http.patch(f"/api/tickets/{ticket_id}", json=change, headers=auth) as r:
            assert r.status == 200
    status, waiting = await get(hub, "/api/queues/general/waiting", auth)
    assert (status, waiting["queue"], waiting["waiting"]) == (200, "general", 2)
    assert [t["id"] for t in waiting["items"]] == [third, second]  # high, then normal
    _, one = await get(hub, "/api/queues/general/waiting?limit=1", auth)
    assert ([t["id"] for t in one["items"]], one["waiting"]) == ([third], 2)
    status, nowhere = await get(hub, "/api/queues/nowhere/waiting", auth)
    assert (status, nowhere["error"]) == (404, "no queue 'nowhere'")
    for query in ("limit=0", "limit=201", "colour=red"):
        status, answer = await get(hub, f"/api/queues/general/waiting?{query}", auth)
        assert (status, bool(answer["error"])) == (400, True), query


async def test_queues_show_depth_and_oldest_waiting(hub: Hub) -> None:
    auth = await hub.token(Role.SUPERVISOR)
    _, empty = await get(hub, "/api/queues", auth)
    assert empty["items"] == [
        {
            "name": "general",
            "kind": "inbound",
            "tier": 1,
            "waiting": 0,
            "open": 0,
            "oldest_waiting_at": None,
        }
    ]
    await submit(hub, "w1", email="a@example.com")
    await submit(hub, "w2", email="b@example.com")
    _, queues = await get(hub, "/api/queues", auth)
    (general,) = queues["items"]
    assert (general["waiting"], general["open"]) == (2, 2)
    assert general["oldest_waiting_at"] is not None


async def test_customer_shows_identities_and_tickets_across_submissions(hub: Hub) -> None:
    await submit(hub, "w1", email="ada@example.com")
    await submit(hub, "w2", email="other@example.com", phone="+15552010042")
    ticket_id = await submit(hub, "w3", email="ada@example.com", phone="+15552010042")
    auth = await hub.token(Role.AGENT)
    _, ticket = await get(hub, f"/api/tickets/{ticket_id}", auth)
    status, customer = await get(hub, f"/api/customers/{ticket['customer_id']}", auth)
    assert status == 200
    assert {"kind": "email", "value": "ada@example.com"} in customer["identities"]
    assert len(customer["tickets"]) == 2


async def test_operations_endpoints(hub: Hub) -> None:
    await submit(hub, "w1")
    assert (await get(hub, "/healthz", {})) == (200, {"status": "ok"})
    assert (await get(hub, "/readyz", {})) == (
        200,
        {"status": "ready", "checks": {"storage": "ok"}},
    )
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    assert 'contacthub_contacts_total{channel="form",outcome="created"} 1.0' in text
    assert 'contacthub_queue_waiting{queue="general"} 1.0' in text
    assert "contacthub_ingest_seconds_bucket" in text


async def test_readyz_is_503_when_storage_is_gone(hub: Hub) -> None:
    await hub.store.close()
    status, answer = await get(hub, "/readyz", {})
    assert status == 503
    assert answer["checks"]["storage"] == "storage is closed"
    body = form_body("w1")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as response:
        assert response.status == 503
        assert response.headers["Retry-After"]
    await hub.store.open()  # the fixture closes it again


async def test_every_route_of_the_api_is_in_the_openapi_document(hub: Hub) -> None:
    _, document = await get(hub, "/api/openapi.json", {})
    api = next(r for r in hub.app.router.resources() if r.canonical.startswith("/api"))
    routes = {
        (_shape(path), route.method.lower())
        for route in api._app.router.routes()  # type: ignore[attr-defined]  # the sub-app's
        if route.method != "HEAD" and route.resource is not None
        for path in _expand(route.resource.canonical, route.resource.get_info())
    }
    documented = {
        (_shape(path), method)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routes - documented == set()


def _expand(path: str, info: Mapping[str, Any]) -> list[str]:
    """A route whose parameter is a choice (`{action:start|pause|stop}`) as each choice."""
    pattern = info.get("pattern")
    choice = re.search(r"\(\?P<(\w+)>([a-z|]+)\)", pattern.pattern) if pattern else None
    if choice is None:
        return [path]
    name, words = choice.groups()
    return [path.replace(f"{{{name}}}", word) for word in words.split("|")]


def _shape(path: str) -> str:
    """A path with its parameters unnamed ({key} and {id} are one route)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


async def test_aiohttps_own_refusals_are_json_with_a_reason(hub: Hub) -> None:
    """No such route, a method the route lacks, a body over max_body_bytes: each said as
    every other error is, never aiohttp's plain text ("404: Not Found")."""
    auth = await hub.token(Role.ADMIN)
    cases = [
        ("GET", "/api/nope", None, 404, "no such endpoint: GET /api/nope"),
        ("DELETE", "/api/queues", None, 405, "DELETE is not allowed on /api/queues (allowed: "),
        ("POST", "/api/tickets/1/notes", io.BytesIO(b"x" * (2 << 20)), 413, "Maximum request"),
    ]
    for method, path, body, status, reason in cases:
        async with hub.http.request(method, path, data=body, headers=auth) as response:
            assert (response.status, response.content_type) == (status, "application/json")
            assert (await response.json())["error"].startswith(reason), path
            if status == 405:
                assert "GET" in response.headers["Allow"]
