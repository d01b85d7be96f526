"""The customer API over real HTTP, on SQLite and on Redis: find, edit (tags route the next
ticket), merge and unmerge exactly, and every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.model import Role, ThreadPolicy
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET, RecordingRouter, form_body, form_headers, inbound

RULES = """
queues:
  general: {kind: inbound}
  escalated: {kind: inbound, tier: 2}
rules:
  - name: vip customers
    when: {customer.tags: {contains: vip}}
    then: {queue: escalated, priority: high}
default: {queue: general}
"""


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = make_settings(
        routing={"rules": str(rules), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}},
    )
    return await start_hub(settings)


async def submit(hub: Hub, external_id: str, **fields: str) -> dict[str, Any]:
    """A signed web form; the ticket it made or joined, as the API reads it."""
    body = form_body(external_id, **fields)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as response:
        assert response.status in (200, 201)
        ticket_id = (await response.json())["ticket_id"]
    _, ticket = await call(hub, "GET", f"/api/tickets/{ticket_id}", await hub.token(Role.AGENT))
    return ticket  # type: ignore[no-any-return]  # the API's JSON


async def call(
    hub: Hub, method: str, path: str, auth: dict[str, str], **kwargs: Any
) -> tuple[int, Any]:
    async with hub.http.request(method, path, headers=auth, **kwargs) as response:
        return response.status, await response.json()


async def ids(hub: Hub, auth: dict[str, str], **params: str) -> list[int]:
    status, page = await call(hub, "GET", "/api/customers", auth, params=params)
    assert status == 200
    return [c["id"] for c in page["items"]]


async def test_customers_are_found_by_email_phone_slack_id_or_name(hub: Hub) -> None:
    ada = (await submit(hub, "w1", name="Ada Lovelace", phone="+15552010042"))["customer_id"]
    grace = await submit(hub, "w2", name="Grace Hopper", email="grace@example.com")
    slack = inbound("C1:1.0", "slack:U0SLACK9", channel="slack", sender_name="Sam Slack")
    sam = (await hub.store.commit_inbound(slack, RecordingRouter(), ThreadPolicy())).customer_id
    auth = await hub.token(Role.OUTBOUND)  # every role may read
    assert await ids(hub, auth, q="ADA@example.com") == [ada]
    assert await ids(hub, auth, q="+1 555 201 0042") == [ada]
    assert await ids(hub, auth, q="u0slack9") == [sam]
    assert await ids(hub, auth, q="love") == [ada]
    assert await ids(hub, auth, q="Gr Hop") == [grace["customer_id"]]
    assert await ids(hub, auth) == [sam, grace["customer_id"], ada]
    status, page = await call(hub, "GET", "/api/customers", auth, params={"limit": "2"})
    assert (status, len(page["items"]), page["items"][0]["identities"]) == (
        200, 2, [{"kind": "slack", "value": "U0SLACK9"}],
    )  # fmt: skip
    assert await ids(hub, auth, cursor=page["next"]) == [ada]


async def test_customers_are_found_by_the_domain_of_an_address_or_else_by_name(hub: Hub) -> None:
    """ "@acme.com" and "acme.com" list the owners of addresses there, by address, in pages;
    a bare domain no address has ("j.smith") is a name, paged as one; "@j.smith" is not."""
    ada = (await submit(hub, "w1", name="Ada", email="ada@acme.com"))["customer_id"]
    bob = (await submit(hub, "w2", name="Bob", email="bob@acme.com"))["customer_id"]
    jay = (await submit(hub, "w3", name="J.Smith Jay", email="jay@other.org"))["customer_id"]
    jo = (await submit(hub, "w4", name="Jo Smithers", email="jo@other.org"))["customer_id"]
    auth = await hub.token(Role.AGENT)
    assert await ids(hub, auth, q="@acme.com") == [ada, bob]
    status, page = await call(
        hub, "GET", "/api/customers", auth, params={"q": "ACME.com", "limit": "1"}
    )
    assert (status, [c["id"] for c in page["items"]]) == (200, [ada])
    assert await ids(hub, auth, q="acme.com", cursor=page["next"]) == [bob]
    assert await ids(hub, auth, q="j.smith") == [jay, jo]
    _, first = await call(hub, "GET", "/api/customers", auth, params={"q": "j.smith", "limit": "1"})
    assert await ids(hub, auth, q="j.smith", cursor=first["next"]) == [jo]
    assert await ids(hub, auth, q="@j.smith") == []


@pytest.mark.parametrize(
    "query",
    [
        "colour=red",
        "limit=0",
        "limit=500",
        "cursor=abc",
        "q=ada&cursor=abc",
        "q=@acme.com&cursor=ada:1",
    ],
    ids=[
        "unknown-parameter",
        "limit-zero",
        "limit-too-big",
        "bad-cursor",
        "bad-search-cursor",
        "bad-domain-cursor",
    ],
)
async def test_bad_customer_list_arguments_are_400(hub: Hub, query: str) -> None:
    status, answer = await call(hub, "GET", f"/api/customers?{query}", await hub.token(Role.AGENT))
    assert (status, bool(answer["error"])) == (400, True)


async def test_a_vip_tag_routes_the_customers_next_ticket(hub: Hub) -> None:
    """The README's own vip rule fires on real traffic once an agent tags the customer."""
    first = await submit(hub, "w1")
    assert (first["queue"], first["route"]["rule"]) == ("general", None)
    auth = await hub.token(Role.AGENT)
    path = f"/api/customers/{first['customer_id']}"
    status, customer = await call(hub, "PATCH", path, auth, json={"tags": ["vip"]})
    assert (status, customer["tags"]) == (200, ["vip"])
    second = await submit(hub, "w2")
    assert (second["customer_id"], second["queue"], second["priority"]) == (
        first["customer_id"], "escalated", "high",
    )  # fmt: skip
    assert second["route"]["rule"] == "vip customers"
    await call(hub, "PATCH", path, auth, json={"tags": []})
    assert (await submit(hub, "w3"))["queue"] == "general"


async def test_an_agent_renames_a_customer(hub: Hub) -> None:
    ticket = await submit(hub, "w1", name="Ada Byron")
    auth = await hub.token(Role.AGENT)
    path = f"/api/customers/{ticket['customer_id']}"
    status, customer = await call(hub, "PATCH", path, auth, json={"name": "Ada Lovelace"})
    assert (status, customer["name"], customer["tags"]) == (200, "Ada Lovelace", [])
    assert [t["id"] for t in customer["tickets"]] == [ticket["id"]]
    assert await ids(hub, auth, q="byron") == []
    assert await ids(hub, auth, q="lovelace") == [ticket["customer_id"]]


@pytest.mark.parametrize(
    ("role", "change", "status"),
    [
        (Role.OUTBOUND, {"tags": ["vip"]}, 403),
        (Role.AGENT, {"colour": "red"}, 400),
        (Role.AGENT, {"name": 42}, 400),
        (Role.AGENT, {"name": "x" * 201}, 400),
        (Role.AGENT, {"tags": "vip"}, 400),
        (Role.AGENT, {"tags": ["vip", ""]}, 400),
        (Role.AGENT, {"tags": ["vip", "   "]}, 400),
        (Role.AGENT, {"tags": ["a,b"]}, 400),
        (Role.AGENT, {"tags": ["line\nbreak"]}, 400),
        (Role.AGENT, {"tags": ["x" * 101]}, 400),
        (Role.AGENT, {"tags": [f"t{n}" for n in range(101)]}, 400),
        (Role.SUPERVISOR, {"tags": ["vip", "vip", "beta"]}, 200),
        (Role.SUPERVISOR, {"tags": [" vip ", "VIP", "beta", "Beta "]}, 200),
        (Role.AGENT, {}, 200),
    ],
    ids=[
        "outbound-may-not", "unknown-field", "name-not-text", "name-too-long", "tags-not-list",
        "empty-tag", "blank-tag", "comma-in-a-tag", "control-character-in-a-tag", "tag-too-long",
        "too-many-tags", "tags-deduplicated", "tags-trimmed-and-one-whatever-the-case",
        "nothing-to-change",
    ],
)  # fmt: skip
async def test_customer_edits_check_role_and_arguments(
    hub: Hub, role: Role, change: dict[str, Any], status: int
) -> None:
    ticket = await submit(hub, "w1")
    path = f"/api/customers/{ticket['customer_id']}"
    answer_status, answer = await call(hub, "PATCH", path, await hub.token(role), json=change)
    assert answer_status == status, answer
    if "tags" in change and status == 200:
        assert answer["tags"] == ["vip", "beta"]
    if status == 400:
        assert answer["error"], answer


async def test_an_edit_of_an_unknown_customer_is_404(hub: Hub) -> None:
    status, _ = await call(
        hub, "PATCH", "/api/customers/999", await hub.token(Role.AGENT), json={"name": "x"}
    )
    assert status == 404


async def two_customers(hub: Hub) -> tuple[int, int]:
    ada = await submit(hub, "w1", name="Ada Lovelace", email="ada@example.com")
    bob = await submit(hub, "w2", name="Bob Byron", email="bob@example.com", phone="+15552010042")
    await submit(hub, "w3", email="bob@example.com")
    auth = await hub.token(Role.AGENT)
    await call(hub, "PATCH", f"/api/customers/{ada['customer_id']}", auth, json={"tags": ["x"]})
    tags = {"tags": ["x", "vip"]}
    await call(hub, "PATCH", f"/api/customers/{bob['customer_id']}", auth, json=tags)
    return ada["customer_id"], bob["customer_id"]


async def test_merge_and_unmerge_round_trip(hub: Hub) -> None:
    ada, bob = await two_customers(hub)
    auth = await hub.token(Role.AGENT, "alice")
    before = [(await call(hub, "GET", f"/api/customers/{c}", auth))[1] for c in (ada, bob)]
    status, merged = await call(
        hub, "POST", f"/api/customers/{ada}/merge", auth, json={"other": bob}
    )
    assert status == 201
    merge = merged["merge"]
    assert (merge["survivor"], merge["other"], merge["by"], merge["undone_at"]) == (
        ada, bob, "alice", None,
    )  # fmt: skip
    assert merge["moved"] == {
        "identities": [
            {"kind": "email", "value": "bob@example.com"},
            {"kind": "phone", "value": "+15552010042"},
        ],
        "tickets": [t["id"] for t in reversed(before[1]["tickets"])],
        "tags": ["x", "vip"],
        "added_tags": ["vip"],
    }
    survivor = merged["customer"]
    assert (survivor["tags"], len(survivor["identities"]), len(survivor["tickets"])) == (
        ["x", "vip"], 3, 3,
    )  # fmt: skip
    _, other = await call(hub, "GET", f"/api/customers/{bob}", auth)
    assert (other["merged_into"], other["identities"], other["tickets"]) == (ada, [], [])
    assert await ids(hub, auth, q="+15552010042") == [ada]
    assert await ids(hub, auth) == [ada]
    status, unmerged = await call(
        hub, "POST", f"/api/customers/{ada}/unmerge", auth, json={"merge_id": merge["id"]}
    )
    assert (status, unmerged["merge"]["undone_by"]) == (200, "alice")
    after = [(await call(hub, "GET", f"/api/customers/{c}", auth))[1] for c in (ada, bob)]
    for was, now in zip(before, after, strict=True):
        assert [m["id"] for m in now.pop("merges")] == [merge["id"]]
        was.pop("merges")
        assert now == was


async def test_merge_refusals(hub: Hub) -> None:
    ada, bob = await two_customers(hub)
    auth = await hub.token(Role.AGENT)

    async def merge(survivor: object, body: object) -> tuple[int, Any]:
        return await call(hub, "POST", f"/api/customers/{survivor}/merge", auth, json=body)

    assert (await merge(ada, {"other": ada}))[0] == 400
    assert (await merge(ada, {"other": 999}))[0] == 404
    assert (await merge(999, {"other": bob}))[0] == 404
    for body in ({}, {"other": "2"}, {"other": True}, {"other": 0}, {"other": bob, "x": 1}):
        assert (await merge(ada, body))[0] == 400, body
    for huge in (2**53, 2**63):  # past what SQLite and Redis's Lua hold: once a 500
        status, answer = await merge(ada, {"other": huge})
        assert (status, answer["error"]) == (400, f"other must be an id {_ID_RANGE}")
    assert (await merge(ada, {"other": bob}))[0] == 201
    status, answer = await merge(ada, {"other": bob})
    assert (status, answer["error"]) == (409, f"customer {bob} was merged into customer {ada}")
    status, _ = await call(
        hub, "POST", f"/api/customers/{ada}/merge", await hub.token(Role.OUTBOUND),
        json={"other": bob},
    )  # fmt: skip
    assert status == 403


async def test_unmerge_refusals_name_what_holds_them_back(hub: Hub) -> None:
    ada, bob = await two_customers(hub)
    cy = (await submit(hub, "w9", name="Cy", email="cy@example.com"))["customer_id"]
    auth = await hub.token(Role.AGENT)

    async def unmerge(customer: int, body: object) -> tuple[int, Any]:
        return await call(hub, "POST", f"/api/customers/{customer}/unmerge", auth, json=body)

    assert (await unmerge(ada, {"merge_id": 999}))[0] == 404
    assert (await unmerge(ada, {}))[0] == 400
    for huge in (2**53, 2**63):  # once a 500 (SQLite's integer overflowed)
        status, answer = await unmerge(ada, {"merge_id": huge})
        assert (status, answer["error"]) == (400, f"merge_id must be an id {_ID_RANGE}")
    _, first = await call(hub, "POST", f"/api/customers/{ada}/merge", auth, json={"other": bob})
    _, second = await call(hub, "POST", f"/api/customers/{cy}/merge", auth, json={"other": ada})
    first_id, second_id = first["merge"]["id"], second["merge"]["id"]
    assert (await unmerge(bob, {"merge_id": first_id}))[0] == 404
    status, answer = await unmerge(ada, {"merge_id": first_id})
    assert status == 409
    assert answer["error"] == (
        f"customer {ada} was merged into customer {cy} since (merge {second_id}): "
        f"undo merge {second_id} first"
    )
    assert (await unmerge(cy, {"merge_id": second_id}))[0] == 200
    assert (await unmerge(ada, {"merge_id": first_id}))[0] == 200
    status, answer = await unmerge(ada, {"merge_id": first_id})
    assert (status, answer["error"]) == (409, f"merge {first_id} was undone already")


_ID_RANGE = f"(a whole number from 1 to {2**53 - 1})"


async def test_the_openapi_document_describes_the_customer_api(hub: Hub) -> None:
    _, document = await call(hub, "GET", "/api/openapi.json", {})
    paths = document["paths"]
    assert set(paths["/api/customers/{id}"]) >= {"get", "patch"}
    assert "post" in paths["/api/customers/{id}/merge"]
    assert "post" in paths["/api/customers/{id}/unmerge"]
    assert [p["name"] for p in paths["/api/customers"]["get"]["parameters"]] == [
        "q", "limit", "cursor",
    ]  # fmt: skip
