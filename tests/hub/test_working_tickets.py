"""Working tickets over real HTTP against the real app, on SQLite and on Redis: the status
moves, people on tickets, notes, transfers, escalations and the record they leave."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.model import Role, Status
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.test_api import submit
from tests.support import FORM_SECRET

RULES = """
queues:
  general: {kind: inbound, tier: 1}
  billing: {kind: inbound, tier: 1, escalate_to: billing_l2}
  billing_l2: {kind: inbound, tier: 2}
  experts: {kind: inbound, tier: 3}
rules:
  - name: billing words
    when: {body: {contains: [refund]}}
    then: {queue: billing}
default: {queue: general}
"""


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


def routed(
    make_settings: MakeSettings,
    tmp_path: Path,
    channels: dict[str, Any] | None = None,
    **sections: Any,
) -> Any:
    """Settings with the rules above, the web form and the given channels."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return make_settings(
        routing={"rules": str(rules), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}, **(channels or {})},
        **sections,
    )


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    return await start_hub(routed(make_settings, tmp_path))


async def call(
    hub: Hub, method: str, path: str, auth: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    async with hub.http.request(method, path, json=body, headers=auth) as response:
        return response.status, await response.json()


async def patch(hub: Hub, ticket_id: int, auth: dict[str, str], **change: Any) -> tuple[int, Any]:
    return await call(hub, "PATCH", f"/api/tickets/{ticket_id}", auth, change)


async def events(hub: Hub, ticket_id: int, auth: dict[str, str]) -> list[dict[str, Any]]:
    status, record = await call(hub, "GET", f"/api/tickets/{ticket_id}/events", auth)
    assert status == 200
    assert record["next"] is None
    items: list[dict[str, Any]] = record["items"]
    return items


N, OP, P, R, C = (s.value for s in Status)
MOVES: dict[str, dict[str, int | tuple[int, list[str]]]] = {  # from -> {to: status (409: and
    # the moves it names)}
    N: {OP: 200, P: 200, R: 200, C: 200},
    OP: {N: (409, [P, R, C]), P: 200, R: 200, C: 200},
    P: {N: (409, [OP, R, C]), OP: 200, R: 200, C: 200},
    R: {N: (409, [OP, P, C]), OP: 200, P: 200, C: 200},
    C: {N: (409, []), OP: (409, []), P: (409, []), R: (409, [])},
}


@pytest.mark.parametrize("current", list(MOVES), ids=lambda s: f"from-{s}")
async def test_every_status_move_is_allowed_or_refused_naming_the_allowed(
    hub: Hub, current: str
) -> None:
    auth = await hub.token(Role.AGENT, "ann")
    for n, (wanted, expected) in enumerate(MOVES[current].items()):
        ticket_id = await submit(hub, f"{current}-{n}", email=f"c{n}@example.com")
        if current != N:
            assert (await patch(hub, ticket_id, auth, status=current))[0] == 200
        status, answer = await patch(hub, ticket_id, auth, status=wanted)
        if expected == 200:
            assert (status, answer["status"]) == (200, wanted), wanted
            assert (await events(hub, ticket_id, auth))[-1]["detail"] == {
                "from": current, "to": wanted,
            }  # fmt: skip
        else:
            assert (status, answer["allowed"]) == expected, wanted
            assert f"from {current} to {wanted}" in answer["error"]


HELD_BY = {"nobody": None, "ann": "ann", "bob": "bob"}
ASSIGNEES = [  # (held by, caller's role and name, the change, status)
    ("nobody", (Role.AGENT, "ann"), "ann", 200),
    ("nobody", (Role.AGENT, "ann"), "bob", 403),
    ("nobody", (Role.AGENT, "ann"), "nobody-here", 400),
    ("nobody", (Role.AGENT, "ann"), "", 400),
    ("nobody", (Role.AGENT, "ann"), 7, 400),
    ("bob", (Role.AGENT, "ann"), "ann", 403),
    ("bob", (Role.AGENT, "ann"), None, 403),
    ("bob", (Role.AGENT, "bob"), None, 200),
    ("ann", (Role.AGENT, "ann"), "ann", 200),
    ("bob", (Role.SUPERVISOR, "sue"), "ann", 200),
    ("bob", (Role.SUPERVISOR, "sue"), None, 200),
    ("nobody", (Role.OUTBOUND, "otto"), "otto", 403),
]


@pytest.mark.parametrize(
    ("held_by", "caller", "assignee", "status"),
    ASSIGNEES,
    ids=[
        "agent-takes-a-free-one", "agent-assigns-another", "unknown-person", "empty-name",
        "not-a-name", "agent-takes-anothers", "agent-unassigns-anothers",
        "agent-gives-up-own", "agent-keeps-own", "supervisor-reassigns", "supervisor-unassigns",
        "outbound-may-not",
    ],
)  # fmt: skip
async def test_assignees_are_people_and_others_tickets_need_a_supervisor(
    hub: Hub, held_by: str, caller: tuple[Role, str], assignee: Any, status: int
) -> None:
    for name in ("ann", "bob"):
        await hub.token(Role.AGENT, name)
    ticket_id = await submit(hub, "w1")
    holder = HELD_BY[held_by]
    supervisor = await hub.token(Role.SUPERVISOR, "sue")
    if holder is not None:
        assert (await patch(hub, ticket_id, supervisor, assignee=holder))[0] == 200
    answer_status, answer = await patch(hub, ticket_id, await hub.token(*caller), assignee=assignee)
    assert answer_status == status, answer
    _, ticket = await call(hub, "GET", f"/api/tickets/{ticket_id}", supervisor)
    assert ticket["assignee"] == (assignee if status == 200 else holder)


async def test_an_unassigned_ticket_waits_again_and_can_be_claimed(hub: Hub) -> None:
    ann = await hub.token(Role.AGENT, "ann")
    ticket_id = await submit(hub, "w1")
    _, claimed = await call(hub, "POST", "/api/queues/general/claim", ann)
    assert (claimed["id"], claimed["status"]) == (ticket_id, "open")
    assert (await patch(hub, ticket_id, ann, assignee=None))[1]["assignee"] is None
    _, queues = await call(hub, "GET", "/api/queues", ann)
    assert next(q for q in queues["items"] if q["name"] == "general")["waiting"] == 1
    status, again = await call(hub, "POST", "/api/queues/general/claim", ann)
    assert (status, again["id"], again["status"]) == (200, ticket_id, "open")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None), ("PATCH", "", {"status": "open"}), ("POST", "/notes", {"body": "x"}),
        ("POST", "/transfer", {"queue": "general"}), ("POST", "/escalate", {"reason": "x"}),
        ("GET", "/events", None),
    ],
    ids=["read", "change", "note", "transfer", "escalate", "record"],
)  # fmt: skip
async def test_an_unknown_ticket_is_404(
    hub: Hub, method: str, path: str, body: dict[str, str] | None
) -> None:
    auth = await hub.token(Role.SUPERVISOR, "sue")
    status, answer = await call(hub, method, f"/api/tickets/99{path}", auth, body)
    assert status == 404, answer
    assert answer["error"] == "no ticket 99"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("notes", {}, 400), ("notes", {"body": "  "}, 400), ("notes", {"body": "x", "to": 1}, 400),
        ("transfer", {}, 400), ("transfer", {"queue": "nowhere"}, 400),
        ("transfer", {"assignee": "nobody-here"}, 400), ("transfer", {"note": "only"}, 400),
        ("escalate", {}, 400), ("escalate", {"reason": ""}, 400),
        ("escalate", {"reason": 5}, 400),
    ],
    ids=[
        "note-without-body", "blank-note", "note-extra-field", "transfer-nowhere",
        "transfer-unknown-queue", "transfer-unknown-person", "transfer-only-a-note",
        "escalate-without-reason", "escalate-blank-reason", "escalate-reason-not-text",
    ],
)  # fmt: skip
async def test_bad_requests_to_work_a_ticket_are_400(
    hub: Hub, path: str, body: dict[str, Any], status: int
) -> None:
    ticket_id = await submit(hub, "w1")
    auth = await hub.token(Role.AGENT, "ann")
    answer_status, answer = await call(hub, "POST", f"/api/tickets/{ticket_id}/{path}", auth, body)
    assert answer_status == status, answer
    assert [e["kind"] for e in await events(hub, ticket_id, auth)] == ["created", "message_in"]


async def test_escalation_from_the_top_is_409_and_others_tickets_are_a_supervisors(
    hub: Hub,
) -> None:
    ann, bob = await hub.token(Role.AGENT, "ann"), await hub.token(Role.AGENT, "bob")
    supervisor = await hub.token(Role.SUPERVISOR, "sue")
    ticket_id = await submit(hub, "w1")
    assert (await patch(hub, ticket_id, supervisor, queue="experts"))[0] == 200
    status, answer = await call(hub, "POST", f"/api/tickets/{ticket_id}/escalate", ann,
                                {"reason": "beyond me"})  # fmt: skip
    assert status == 409
    assert "experts" in answer["error"]
    bobs = await submit(hub, "w2", email="other@example.com")
    await patch(hub, bobs, bob, assignee="bob")
    for path, body in (("escalate", {"reason": "x"}), ("transfer", {"queue": "billing"})):
        status, _ = await call(hub, "POST", f"/api/tickets/{bobs}/{path}", ann, body)
        assert status == 403
    status, moved = await call(hub, "POST", f"/api/tickets/{bobs}/transfer", supervisor,
                               {"queue": "billing", "assignee": "ann"})  # fmt: skip
    assert (status, moved["queue"], moved["assignee"]) == (200, "billing", "ann")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"priority": "urgent"}), ("PATCH", "", {"queue": "billing"}),
        ("PATCH", "", {"tags": ["late"]}), ("PATCH", "", {"assignee": None}),
        ("POST", "/transfer", {"queue": "billing"}), ("POST", "/escalate", {"reason": "x"}),
    ],
    ids=["priority", "queue", "tags", "unassign", "transfer", "escalate"],
)  # fmt: skip
async def test_a_closed_ticket_is_final_but_takes_notes(
    hub: Hub, method: str, path: str, body: dict[str, Any]
) -> None:
    supervisor = await hub.token(Role.SUPERVISOR, "sue")
    ticket_id = await submit(hub, "w1")
    await patch(hub, ticket_id, supervisor, assignee="sue", status="closed")
    count = len(await events(hub, ticket_id, supervisor))
    status, answer = await call(hub, method, f"/api/tickets/{ticket_id}{path}", supervisor, body)
    assert status == 409, answer
    assert answer["error"].startswith(f"ticket {ticket_id} is closed, and a closed ticket is final")
    assert len(await events(hub, ticket_id, supervisor)) == count
    assert (await patch(hub, ticket_id, supervisor, status="closed"))[0] == 200  # a retry
    status, _ = await call(hub, "POST", f"/api/tickets/{ticket_id}/notes", supervisor,
                           {"body": "called back"})  # fmt: skip
    assert status == 201


async def test_concurrent_changes_from_two_hubs_are_all_on_the_record(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    """Two hubs on one store: changes of different fields all land, and so do status moves
    the workflow allows in any order; a change racing the close either lands before it or is
    refused with 409 (the ticket is final); never a lost update."""
    settings = routed(make_settings, tmp_path)
    hubs = [await start_hub(settings), await start_hub(settings)]
    auth = await hubs[0].token(Role.SUPERVISOR, "sue")
    ticket_id = await submit(hubs[0], "w1")
    changes: list[dict[str, Any]] = [
        {"priority": "urgent"}, {"tags": ["vip"]}, {"assignee": "sue"},
        {"status": "pending"}, {"status": "resolved"}, {"status": "open"},
    ]  # fmt: skip
    answers = await asyncio.gather(
        *(patch(hubs[i % 2], ticket_id, auth, **change) for i, change in enumerate(changes))
    )
    assert [status for status, _ in answers] == [200] * len(changes)
    record = await events(hubs[1], ticket_id, auth)
    moves = [e["detail"]["to"] for e in record if e["kind"] == "status"]
    assert sorted(moves) == ["open", "pending", "resolved"]
    _, ticket = await call(hubs[1], "GET", f"/api/tickets/{ticket_id}", auth)
    assert (ticket["priority"], ticket["tags"], ticket["assignee"], ticket["status"]) == (
        "urgent", ["vip"], "sue", moves[-1],
    )  # fmt: skip
    (closed, _), (lowered, _) = await asyncio.gather(
        patch(hubs[0], ticket_id, auth, status="closed"),
        patch(hubs[1], ticket_id, auth, priority="low"),
    )
    assert (closed, lowered in (200, 409)) == (200, True)
    kinds = [e["kind"] for e in await events(hubs[0], ticket_id, auth)]
    assert kinds[-1] == "status"  # the close ends the record
    assert ("priority" in kinds[len(record) :]) == (lowered == 200)
    _, ticket = await call(hubs[0], "GET", f"/api/tickets/{ticket_id}", auth)
    assert ticket["priority"] == ("low" if lowered == 200 else "urgent")


async def test_the_openapi_document_lists_the_work_on_tickets(hub: Hub) -> None:
    status, document = await call(hub, "GET", "/api/openapi.json", {})
    assert status == 200
    paths = document["paths"]
    for path in ("notes", "transfer", "escalate", "events"):
        assert f"/api/tickets/{{id}}/{path}" in paths
    assert "409" in paths["/api/tickets/{id}"]["patch"]["responses"]
