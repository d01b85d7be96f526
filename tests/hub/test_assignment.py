"""Assignment over real HTTP against the real app: agents, presence, offers made on events,
accepted, rejected and timed out, claims that explain a 204, and the bad input of each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.test_api import submit
from tests.support import FORM_SECRET

RULES = """
queues:
  general: {kind: inbound, tier: 1}
  billing:
    kind: inbound
    tier: 1
    assign: {policy: round_robin, offer_timeout: 5s, skills: required}
rules:
  - name: billing words
    when: {body: {contains: [refund]}}
    then: {queue: billing, skills: [billing]}
default: {queue: general}
"""


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


class Clock:
    """The wall clock, moved on by a test (offers time out without waiting for them)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, clock: Clock
) -> Hub:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = make_settings(
        routing={"rules": str(rules), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}},
        agents={"offer_tick": 0.1, "presence_timeout": "60s"},
    )
    return await start_hub(settings, clock=clock)


async def call(
    hub: Hub, method: str, path: str, auth: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    async with hub.http.request(method, path, json=body, headers=auth) as response:
        text = await response.text()
        return response.status, (await response.json()) if text else None


async def agent(hub: Hub, name: str, skills: list[str], **capacity: int) -> dict[str, str]:
    """An agent, online, with a token of every role they hold."""
    auth = await hub.token(Role.AGENT, name)
    admin = await hub.token(Role.ADMIN, "boss")
    body: dict[str, Any] = {"skills": skills}
    if capacity:
        body["capacity"] = capacity
    assert (await call(hub, "PUT", f"/api/agents/{name}", admin, body))[0] == 200
    status, _ = await call(hub, "POST", "/api/agents/me/presence", auth, {"status": "online"})
    assert status == 200
    return auth


async def offers_of(
    hub: Hub, auth: dict[str, str], count: int = 1, within: float = 5.0
) -> list[dict[str, Any]]:
    """The agent's open offers, once there are `count` of them (the offerer works apart)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        status, page = await call(hub, "GET", "/api/offers", auth)
        assert status == 200
        items: list[dict[str, Any]] = page["items"]
        if len(items) >= count or asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.05)


async def kinds(hub: Hub, ticket_id: int, auth: dict[str, str]) -> list[str]:
    _, record = await call(hub, "GET", f"/api/tickets/{ticket_id}/events", auth)
    return [e["kind"] for e in record["items"]]


async def test_an_agent_coming_online_is_offered_what_waits_and_accepts_it(hub: Hub) -> None:
    ticket_id = await submit(hub, "f1", message="a refund please")
    ann = await agent(hub, "ann", ["billing"])
    (offer,) = await offers_of(hub, ann)
    assert (offer["ticket_id"], offer["queue"], offer["channel"]) == (ticket_id, "billing", "form")
    assert any(line.startswith("chosen ann by round_robin") for line in offer["explanation"])
    status, ticket = await call(hub, "POST", f"/api/offers/{offer['id']}/accept", ann)
    assert (status, ticket["assignee"], ticket["status"]) == (200, "ann", "open")
    _, record = await call(hub, "GET", f"/api/tickets/{ticket_id}/events", ann)
    assigned = next(e for e in record["items"] if e["kind"] == "assigned")
    assert assigned["detail"]["offer_id"] == offer["id"]
    assert assigned["detail"]["explanation"] == offer["explanation"]
    _, me = await call(hub, "GET", "/api/me", ann)
    assert (me["name"], me["load"]["form"], me["token"]["roles"]) == ("ann", 1, ["agent"])


async def test_a_new_ticket_is_offered_to_an_agent_already_online(hub: Hub) -> None:
    ann = await agent(hub, "ann", ["billing"])
    ticket_id = await submit(hub, "f1", message="refund")
    (offer,) = await offers_of(hub, ann)
    assert offer["ticket_id"] == ticket_id


async def test_a_rejected_offer_goes_to_the_next_agent_and_never_back(hub: Hub) -> None:
    ann = await agent(hub, "ann", ["billing"])
    ticket_id = await submit(hub, "f1", message="refund")
    (first,) = await offers_of(hub, ann)
    bob = await agent(hub, "bob", ["billing"])
    status, rejected = await call(hub, "POST", f"/api/offers/{first['id']}/reject", ann)
    assert (status, rejected["state"]) == (200, "rejected")
    (second,) = await offers_of(hub, bob)
    assert second["ticket_id"] == ticket_id
    assert "ann: declined this ticket before" in "\n".join(second["explanation"]) or any(
        "declined this ticket before: ann" in line for line in second["explanation"]
    )
    assert await offers_of(hub, ann, within=0.3) == []
    assert (await kinds(hub, ticket_id, ann))[-3:] == ["offered", "offer_rejected", "offered"]


async def test_an_unanswered_offer_times_out_sends_the_agent_away_and_moves_on(
    hub: Hub, clock: Clock
) -> None:
    ann = await agent(hub, "ann", ["billing"])
    ticket_id = await submit(hub, "f1", message="refund")
    (first,) = await offers_of(hub, ann)
    bob = await agent(hub, "bob", ["billing"])
    clock.ahead = timedelta(seconds=6)  # past the queue's offer_timeout of 5s
    (second,) = await offers_of(hub, bob, within=5)
    assert second["ticket_id"] == ticket_id
    _, me = await call(hub, "GET", "/api/me", ann)
    assert me["presence"] == "away"
    status, answer = await call(hub, "POST", f"/api/offers/{first['id']}/accept", ann)
    assert status == 409
    assert "expired" in answer["error"]
    assert "offer_timed_out" in await kinds(hub, ticket_id, bob)


async def test_skills_and_capacity_decide_who_is_offered(hub: Hub) -> None:
    novice = await agent(hub, "novice", [])
    pro = await agent(hub, "pro", ["billing"], form=1)
    first = await submit(hub, "f1", message="refund", email="a@example.com")
    second = await submit(hub, "f2", message="refund", email="b@example.com")
    (offer,) = await offers_of(hub, pro)
    assert offer["ticket_id"] == first
    assert any("lacks skill billing" in line for line in offer["explanation"])
    assert await offers_of(hub, novice, within=0.3) == []
    await call(hub, "POST", f"/api/offers/{offer['id']}/accept", pro)
    assert await offers_of(hub, pro, within=0.3) == []  # at capacity on form
    status, _ = await call(hub, "PATCH", f"/api/tickets/{first}", pro, {"status": "resolved"})
    assert status == 200
    (next_offer,) = await offers_of(hub, pro)  # resolving freed the capacity
    assert next_offer["ticket_id"] == second


async def test_a_claim_honours_skills_and_explains_a_204(hub: Hub) -> None:
    novice = await agent(hub, "novice", [])
    await call(hub, "POST", "/api/agents/me/presence", novice, {"status": "away"})
    ticket_id = await submit(hub, "f1", message="refund")
    async with hub.http.post("/api/queues/billing/claim", headers=novice) as response:
        assert response.status == 204
        assert f"#{ticket_id}" in response.headers["Contacthub-Why"]
        assert "lacks skill billing" in response.headers["Contacthub-Why"]
    status, answer = await call(hub, "POST", "/api/queues/billing/claim?why=1", novice)
    assert status == 200
    assert answer["ticket"] is None
    assert answer["why"] == [f"lacks skill billing: #{ticket_id}"]
    status, answer = await call(hub, "POST", "/api/queues/general/claim?why=1", novice)
    assert answer["why"] == ["nothing waits in general that is not on offer to someone"]


async def test_a_manual_queue_is_never_offered(hub: Hub) -> None:
    ann = await agent(hub, "ann", ["billing"])
    ticket_id = await submit(hub, "f1", message="just a question")
    assert await offers_of(hub, ann, within=0.4) == []
    status, ticket = await call(hub, "POST", "/api/queues/general/claim", ann)
    assert (status, ticket["id"]) == (200, ticket_id)


async def test_presence_is_ones_own_unless_a_supervisor_sets_it(hub: Hub) -> None:
    ann = await agent(hub, "ann", [])
    bob = await hub.token(Role.AGENT, "bob")
    status, answer = await call(hub, "POST", "/api/agents/ann/presence", bob, {"status": "away"})
    assert status == 403
    assert "supervisor" in answer["error"]
    boss = await hub.token(Role.SUPERVISOR, "sue")
    status, answer = await call(hub, "POST", "/api/agents/ann/presence", boss, {"status": "away"})
    assert (status, answer["presence"]) == (200, "away")
    status, answer = await call(hub, "POST", "/api/agents/me/presence", ann, {})
    assert (status, answer["presence"]) == (200, "away")  # a heartbeat keeps it as it is
    status, answer = await call(hub, "POST", "/api/agents/me/presence", ann, {"status": "busy"})
    assert status == 400
    assert "online, away, offline" in answer["error"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"capacity": {"fax": 1}}, 400, "unknown channel 'fax'"),
        ({"capacity": {"email": -1}}, 400, "from 0 to 10000"),
        ({"capacity": {"email": 1.5}}, 400, "whole number"),
        ({"capacity": {"email": True}}, 400, "whole number"),
        ({"capacity": [1]}, 400, "object of channel"),
        ({"queues": ["nowhere"]}, 400, "unknown queue(s): nowhere"),
        ({"roles": ["king"]}, 400, "roles must be some of"),
        ({"skills": [""]}, 400, "non-empty strings"),
        ({"nickname": "x"}, 400, "unknown field(s): nickname"),
        ({"roles": ["admin"]}, 403, "admin's call"),
    ],
)
async def test_a_supervisors_bad_agent_edit_is_refused_with_the_reason(
    hub: Hub, body: dict[str, Any], status: int, words: str
) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    answer_status, answer = await call(hub, "PUT", "/api/agents/ann", sue, body)
    assert answer_status == status
    assert words in answer["error"]


@pytest.mark.parametrize("path", ["me", "root"])
async def test_nobody_changes_their_own_roles(hub: Hub, path: str) -> None:
    """One click once took the only admin's role away, and with it every admin's right."""
    root = await hub.token(Role.ADMIN, "root")
    status, answer = await call(hub, "PUT", f"/api/agents/{path}", root, {"roles": ["agent"]})
    assert status == 403, answer
    assert "your own roles are another admin's to change" in answer["error"]
    status, me = await call(hub, "GET", "/api/me", root)
    assert (status, me["roles"]) == (200, ["admin"])
    same = {"roles": ["admin"], "skills": ["billing"]}  # no change of roles: the rest goes
    status, changed = await call(hub, "PUT", f"/api/agents/{path}", root, same)
    assert (status, changed["skills"]) == (200, ["billing"])
    status, _ = await call(hub, "PUT", "/api/agents/sue", root, {"roles": ["supervisor"]})
    assert status == 201  # another's roles: an admin's call, as ever


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("none", "'none' is a word the API reads in a name's place"),  # ?assignee=none
        ("Me", "'Me' is a word the API reads"),
        ("%20ann", "cannot begin or end with a space"),
        ("a%09b", "a slash or a control character"),
        ("a%2Fb", "a slash or a control character"),
        ("x" * 65, "at most 64 characters"),
    ],
)
async def test_a_new_agent_needs_a_name_the_api_can_find(hub: Hub, name: str, words: str) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    status, answer = await call(hub, "PUT", f"/api/agents/{name}", sue, {"skills": []})
    assert (status, words in answer["error"]) == (400, True), answer
    assert [a["name"] for a in (await call(hub, "GET", "/api/agents", sue))[1]["items"]] == ["sue"]
    status, created = await call(hub, "PUT", "/api/agents/Ann%20Lee", sue, {"skills": []})
    assert (status, created["name"]) == (201, "Ann Lee")


async def test_agents_are_listed_with_presence_and_load_and_unknown_ones_are_404(
    hub: Hub,
) -> None:
    sue = await hub.token(Role.SUPERVISOR, "sue")
    status, created = await call(
        hub, "PUT", "/api/agents/ann", sue, {"capacity": {"sms": 2}, "queues": ["billing"]}
    )
    assert (status, created["capacity"]["sms"], created["queues"]) == (201, 2, ["billing"])
    ann = await hub.token(Role.AGENT, "ann")
    status, _ = await call(hub, "PUT", "/api/agents/ann", ann, {"skills": ["x"]})
    assert status == 403  # agents do not edit agents
    _, listed = await call(hub, "GET", "/api/agents", ann)
    assert [(a["name"], a["presence"]) for a in listed["items"]] == [
        ("ann", "offline"),
        ("sue", "offline"),
    ]
    status, _answer = await call(hub, "GET", "/api/agents/ghost", ann)
    assert status == 404


async def test_someone_elses_or_an_unknown_offer_is_refused(hub: Hub) -> None:
    ann = await agent(hub, "ann", ["billing"])
    bob = await hub.token(Role.AGENT, "bob")
    await submit(hub, "f1", message="refund")
    (offer,) = await offers_of(hub, ann)
    status, answer = await call(hub, "POST", f"/api/offers/{offer['id']}/accept", bob)
    assert status == 409
    assert "ann's" in answer["error"]
    assert (await call(hub, "POST", "/api/offers/999999/accept", ann))[0] == 404
    assert (await call(hub, "POST", "/api/offers/abc/accept", ann))[0] == 400
    assert (await call(hub, "GET", "/api/offers?agent=ann", bob))[0] == 403
    sue = await hub.token(Role.SUPERVISOR, "sue")
    _, everyone = await call(hub, "GET", "/api/offers?agent=all", sue)
    assert [o["agent"] for o in everyone["items"]] == ["ann"]
