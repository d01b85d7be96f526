"""The web chat over a real WebSocket against the real app on SQLite: acks after the commit,
exactly once on a resend, resume after a drop, replies and typing pushed live, bad frames."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from channels.webchat import NAME
from core.model import Role, TicketFilter
from tests.channels.webchat.support import Visitor, agent_online, chat_hub, connect
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import form_body, form_headers


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings) -> Hub:
    return await chat_hub(start_hub, make_settings, max_frame_bytes=2048, messages_per_minute=5)


async def test_the_welcome_says_whether_an_agent_who_takes_chats_is_online(hub: Hub) -> None:
    _, nobody = await connect(hub)
    assert nobody["status"] == {"open": True, "online": False, "next_open": None, "email": False}
    await agent_online(hub)
    await asyncio.sleep(1.1)  # the status is read at most once a second
    _, welcome = await connect(hub)
    assert welcome["status"] == {"open": True, "online": True, "next_open": None, "email": False}


async def test_a_message_is_acked_after_its_commit_on_a_chat_ticket(hub: Hub) -> None:
    visitor, welcome = await connect(hub)
    assert welcome["type"] == "welcome"
    ack = await visitor.say("c1", "Where is my order?")
    ticket = await hub.store.get_ticket(ack["ticket_id"])
    assert ticket.channel == NAME
    assert [(m.id, m.body) for m in ticket.messages] == [(ack["seq"], "Where is my order?")]
    second = await visitor.say("c2", "It was due Monday")
    assert second["ticket_id"] == ack["ticket_id"]
    assert second["seq"] > ack["seq"]


async def test_control_characters_are_not_stored(hub: Hub) -> None:
    visitor, _ = await connect(hub)
    ack = await visitor.say("c1", "Where\x00 is my\x07 order?\n\tThanks\x7f")
    ticket = await hub.store.get_ticket(ack["ticket_id"])
    assert [m.body for m in ticket.messages] == ["Where is my order?\n\tThanks"]


async def test_a_resend_after_a_lost_ack_stores_nothing_twice(hub: Hub) -> None:
    visitor, welcome = await connect(hub)
    first = await visitor.say("c1", "hello")
    await visitor.close()  # the ack is "lost": the widget resends on a new socket
    again, _ = await connect(hub, {"visitor": {"session": welcome["session"]}})
    repeat = await again.say("c1", "hello")
    assert repeat == first
    ticket = await hub.store.get_ticket(first["ticket_id"])
    assert len(ticket.messages) == 1


async def test_two_visitors_with_the_same_client_id_are_two_messages(hub: Hub) -> None:
    ada, _ = await connect(hub)
    bob, _ = await connect(hub)
    assert (await ada.say("c1", "hi"))["ticket_id"] != (await bob.say("c1", "hi"))["ticket_id"]


async def test_an_agent_reply_reaches_the_open_socket_and_waits_for_resume(hub: Hub) -> None:
    visitor, welcome = await connect(hub)
    ack = await visitor.say("c1", "help")
    headers = await hub.token(Role.AGENT, "jo")
    url = f"/api/tickets/{ack['ticket_id']}/reply"
    async with hub.http.post(url, json={"body": "<b>On it</b>"}, headers=headers) as response:
        assert response.status == 201
        assert (await response.json())["delivery"] == "delivered"
    pushed = await visitor.frame_of("message")
    assert (pushed["from"], pushed["text"]) == ("agent", "<b>On it</b>")
    await visitor.close()
    async with hub.http.post(url, json={"body": "Found it"}, headers=headers) as response:
        assert (await response.json())["delivery"] == "sent"  # no socket: kept for resume
    back, _ = await connect(hub, {"visitor": {"session": welcome["session"]}, "resume": ack["seq"]})
    replayed = [await back.frame_of("message"), await back.frame_of("message")]
    assert [f["text"] for f in replayed] == ["<b>On it</b>", "Found it"]
    assert replayed[0]["seq"] == pushed["seq"]


async def test_resume_from_zero_replays_the_whole_conversation(hub: Hub) -> None:
    visitor, welcome = await connect(hub)
    await visitor.say("c1", "one")
    await visitor.say("c2", "two")
    back, _ = await connect(hub, {"visitor": {"session": welcome["session"]}, "resume": 0})
    frames = [await back.frame_of("message"), await back.frame_of("message")]
    assert [(f["from"], f["text"]) for f in frames] == [("visitor", "one"), ("visitor", "two")]


async def test_a_resume_ahead_of_the_hub_is_an_error_frame(hub: Hub) -> None:
    visitor, welcome = await connect(hub)
    ack = await visitor.say("c1", "one")
    back, _ = await connect(
        hub, {"visitor": {"session": welcome["session"]}, "resume": ack["seq"] + 5}
    )
    error = await back.frame()
    assert error["type"] == "error"
    assert error["code"] == "resume_ahead"


async def test_typing_goes_both_ways_and_is_not_stored(hub: Hub) -> None:
    visitor, _ = await connect(hub)
    ack = await visitor.say("c1", "hi")
    headers = await hub.token(Role.AGENT, "jo")
    url = f"/api/tickets/{ack['ticket_id']}/typing"
    async with hub.http.post(url, headers=headers) as response:
        assert response.status == 204
    assert await visitor.frame() == {"type": "typing", "from": "agent"}
    await visitor.ws.send_json({"type": "typing"})
    await visitor.say("c2", "still there?")  # the typing frame was handled before this
    async with hub.http.get(url, headers=headers) as response:
        assert await response.json() == {"visitor_typing": True}
    ticket = await hub.store.get_ticket(ack["ticket_id"])
    assert [m.body for m in ticket.messages] == ["hi", "still there?"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "shout"}', "unknown_type"),
        ('{"type": "message", "client_id": "c 1", "text": "x"}', "bad_frame"),
        ('{"type": "message", "client_id": "c1", "text": "   "}', "bad_frame"),
        ('{"type": "message", "client_id": "c1", "text": "\\u0000\\u001b "}', "bad_frame"),
        ('{"type": "message", "client_id": "c1", "text": 5}', "bad_frame"),
        ('{"type": "hello"}', "bad_frame"),
    ],
    ids=["malformed", "not-an-object", "unknown-type", "bad-client-id", "blank", "controls",
         "text-not-str", "second-hello"],
)  # fmt: skip
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_goes_on(
    hub: Hub, frame: str, code: str
) -> None:
    visitor, _ = await connect(hub)
    await visitor.ws.send_str(frame)
    error = await visitor.frame()
    assert (error["type"], error["code"]) == ("error", code)
    assert "Traceback" not in error["reason"]
    ack = await visitor.say("ok", "still works")
    assert len((await hub.store.get_ticket(ack["ticket_id"])).messages) == 1


async def test_an_oversized_frame_closes_with_1009_and_stores_nothing(hub: Hub) -> None:
    visitor, _ = await connect(hub)
    await visitor.ws.send_json({"type": "message", "client_id": "big", "text": "x" * 4000})
    closing = await visitor.ws.receive(timeout=5)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert (await hub.store.list_tickets(_chat())).items == ()


async def test_a_binary_frame_closes_with_1003(hub: Hub) -> None:
    visitor, _ = await connect(hub)
    await visitor.ws.send_bytes(b"\x00\x01")
    closing = await visitor.ws.receive(timeout=5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1003)


async def test_a_socket_that_does_not_say_hello_first_is_closed_with_1008(hub: Hub) -> None:
    ws = Visitor(await hub.http.ws_connect("/chat/ws")).ws
    await ws.send_json({"type": "message", "client_id": "c1", "text": "hi"})
    closing = await ws.receive(timeout=5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1008)
    assert (await hub.store.list_tickets(_chat())).items == ()


async def test_more_messages_than_the_rate_are_refused_unstored(hub: Hub) -> None:
    visitor = await _visitor(hub)
    for n in range(5):
        await visitor.say(f"c{n}", f"message {n}")
    await visitor.ws.send_json({"type": "message", "client_id": "c5", "text": "one too many"})
    refused = await visitor.frame()
    assert (refused["code"], refused["client_id"]) == ("rate_limited", "c5")
    tickets = (await hub.store.list_tickets(_chat())).items
    assert len((await hub.store.get_ticket(tickets[0].id)).messages) == 5


async def test_a_page_of_another_origin_is_refused_at_the_handshake(hub: Hub) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hub.http.ws_connect("/chat/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    async with hub.http.get("/chat/ws", headers={"Origin": "https://evil.example"}) as answer:
        assert (answer.status, await answer.json()) == (
            403, {"error": "origin https://evil.example may not open the chat"},
        )  # fmt: skip
    _same, welcome = await connect(hub, origin=hub.base_url)
    assert welcome["type"] == "welcome"


async def _visitor(hub: Hub) -> Visitor:
    visitor, _ = await connect(hub)
    return visitor


def _chat() -> TicketFilter:
    return TicketFilter(channel=NAME)


async def test_with_storage_down_a_message_is_not_acked_and_its_resend_is_stored_once(
    hub: Hub,
) -> None:
    visitor = await _visitor(hub)
    await hub.store.close()
    await visitor.ws.send_json({"type": "message", "client_id": "c1", "text": "anyone?"})
    refused = await visitor.frame()
    assert (refused["type"], refused["code"], refused["client_id"]) == (
        "error", "unavailable", "c1",
    )  # fmt: skip
    await hub.store.open()  # the widget resends the same client_id
    ack = await visitor.say("c1", "anyone?")
    assert len((await hub.store.get_ticket(ack["ticket_id"])).messages) == 1


async def test_the_widget_is_one_small_script_and_the_demo_page_carries_it(hub: Hub) -> None:
    async with hub.http.get("/chat/widget.js") as response:
        assert response.status == 200
        assert response.content_type == "text/javascript"
        script = await response.read()
    assert 10_000 < len(script) <= 50 * 1024
    assert b"attachShadow" in script
    assert b"innerHTML" not in script.split(b"root.innerHTML", 1)[1]  # only our own template
    async with hub.http.get("/chat/demo") as response:
        assert response.status == 200
        assert '<script src="/chat/widget.js"' in await response.text()


async def test_without_the_chat_section_there_is_no_chat(start_hub: StartHub) -> None:
    plain = await start_hub()
    async with plain.http.get("/chat/widget.js") as response:
        assert response.status == 404
    headers = await plain.token(Role.AGENT, "jo")
    async with plain.http.post("/api/tickets/1/typing", headers=headers) as response:
        assert response.status == 409
        assert "[channels.webchat]" in (await response.json())["error"]


async def test_typing_on_a_ticket_that_is_no_chat_is_409(hub: Hub) -> None:
    body = form_body("f1")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as answer:
        ticket_id = (await answer.json())["ticket_id"]
    headers = await hub.token(Role.AGENT, "jo")
    async with hub.http.post(f"/api/tickets/{ticket_id}/typing", headers=headers) as response:
        assert response.status == 409


async def test_a_resume_with_storage_down_closes_to_try_again_later(hub: Hub) -> None:
    visitor, welcome = await connect(hub)
    await visitor.say("c1", "one")
    await hub.store.close()
    try:
        back, _ = await connect(hub, {"visitor": {"session": welcome["session"]}, "resume": 0})
        error = await back.frame()
        assert (error["type"], error["code"]) == ("error", "unavailable")
        closing = await back.ws.receive(timeout=5)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1013)
    finally:
        await hub.store.open()
