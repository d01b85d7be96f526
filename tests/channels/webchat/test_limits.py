"""The chat's limits: messages per visitor in any minute (a sliding window), sockets per
address (429 at the handshake), and what an agent's reply may be."""

from __future__ import annotations

import aiohttp
import pytest

from channels.webchat.limits import MessageRate, SocketCount
from core.model import Role
from tests.channels.webchat.support import Visitor, chat_hub, connect
from tests.conftest import MakeSettings, StartHub


def test_the_rate_is_a_sliding_minute_per_visitor() -> None:
    now = [0.0]
    rate = MessageRate(2, clock=lambda: now[0])
    assert [rate.allow("ada"), rate.allow("ada"), rate.allow("ada")] == [True, True, False]
    assert rate.allow("bob")
    now[0] = 59.9
    assert not rate.allow("ada")
    now[0] = 60.1  # the first two are a minute old
    assert [rate.allow("ada"), rate.allow("ada"), rate.allow("ada")] == [True, True, False]


def test_sockets_are_counted_per_address_and_given_back() -> None:
    count = SocketCount(1)
    assert count.take("10.0.0.1")
    assert not count.take("10.0.0.1")
    assert count.take("10.0.0.2")
    count.give_back("10.0.0.1")
    assert count.take("10.0.0.1")


async def test_one_socket_too_many_from_an_address_is_429(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings, sockets_per_ip=2)
    first, _ = await connect(hub)
    await connect(hub)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hub.http.ws_connect("/chat/ws")
    assert refused.value.status == 429
    await first.close()
    again = Visitor(await hub.http.ws_connect("/chat/ws"))  # one was given back
    assert not again.ws.closed


@pytest.mark.parametrize(
    ("body", "status"), [("   ", 400), ("x" * 20_001, 400)], ids=["blank", "too-long"]
)
async def test_a_chat_reply_the_widget_cannot_show_is_refused_unstored(
    start_hub: StartHub, make_settings: MakeSettings, body: str, status: int
) -> None:
    hub = await chat_hub(start_hub, make_settings)
    visitor, _ = await connect(hub)
    ack = await visitor.say("c1", "hi")
    headers = await hub.token(Role.AGENT, "jo")
    url = f"/api/tickets/{ack['ticket_id']}/reply"
    async with hub.http.post(url, json={"body": body}, headers=headers) as response:
        assert response.status == status
    assert len((await hub.store.get_ticket(ack["ticket_id"])).messages) == 1
