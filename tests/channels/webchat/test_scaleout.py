"""The web chat on Redis with two hubs: an agent's reply through hub A reaches the visitor's
socket on hub B, a resend to the other hub stores nothing twice, resume works anywhere."""

from __future__ import annotations

import pytest

from core.model import Role
from tests.channels.webchat.support import chat_hub, connect
from tests.conftest import Hub, MakeSettings, StartHub


@pytest.fixture(params=["redis", "cluster"])
def url(request: pytest.FixtureRequest) -> str:
    fixture = "redis_url" if request.param == "redis" else "redis_cluster_url"
    return str(request.getfixturevalue(fixture))


async def _two_hubs(start_hub: StartHub, make_settings: MakeSettings, url: str) -> list[Hub]:
    return [await chat_hub(start_hub, make_settings, url) for _ in range(2)]


async def _reply(hub: Hub, ticket_id: int, body: str) -> str:
    headers = await hub.token(Role.AGENT, "jo")
    url = f"/api/tickets/{ticket_id}/reply"
    async with hub.http.post(url, json={"body": body}, headers=headers) as response:
        assert response.status == 201
        return str((await response.json())["delivery"])


async def test_a_reply_through_hub_a_reaches_the_visitor_on_hub_b(
    start_hub: StartHub, make_settings: MakeSettings, url: str
) -> None:
    a, b = await _two_hubs(start_hub, make_settings, url)
    visitor, _ = await connect(b)
    ack = await visitor.say("c1", "hello from hub B")
    assert await _reply(a, ack["ticket_id"], "answered on hub A") == "delivered"
    pushed = await visitor.frame_of("message")
    assert (pushed["from"], pushed["text"], pushed["ticket_id"]) == (
        "agent", "answered on hub A", ack["ticket_id"],
    )  # fmt: skip
    headers = await a.token(Role.AGENT, "jo")
    async with a.http.post(f"/api/tickets/{ack['ticket_id']}/typing", headers=headers) as answer:
        assert answer.status == 204
    assert await visitor.frame() == {"type": "typing", "from": "agent"}


async def test_a_resend_to_the_other_hub_stores_nothing_twice_and_resume_is_anywhere(
    start_hub: StartHub, make_settings: MakeSettings, url: str
) -> None:
    a, b = await _two_hubs(start_hub, make_settings, url)
    visitor, welcome = await connect(a)
    first = await visitor.say("c1", "hello")
    await visitor.close()
    session = {"session": welcome["session"]}
    again, _ = await connect(b, {"visitor": session})
    assert await again.say("c1", "hello") == first
    await again.close()
    assert await _reply(a, first["ticket_id"], "while you were away") == "sent"
    back, _ = await connect(b, {"visitor": session, "resume": first["seq"]})
    assert (await back.frame_of("message"))["text"] == "while you were away"
    assert len((await a.store.get_ticket(first["ticket_id"])).messages) == 2
