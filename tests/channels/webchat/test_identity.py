"""Who a chat visitor is: signed ids join their customer across channels, unsigned emails are
hints and never a merge, and `require_identity` refuses at hello with nothing stored."""

from __future__ import annotations

import aiohttp
import pytest

from channels.webchat import NAME
from core.model import TicketFilter
from tests.channels.webchat.support import chat_hub, connect, signed
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import form_body, form_headers


async def _form_customer(hub: Hub, email: str) -> int:
    body = form_body("f1", name="Ada", email=email, message="my order")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as answer:
        assert answer.status == 201
        ticket = await hub.store.get_ticket(int((await answer.json())["ticket_id"]))
    return ticket.customer_id


async def _chat_customer(hub: Hub, ticket_id: int) -> int:
    return (await hub.store.get_ticket(ticket_id)).customer_id


async def _refused(hub: Hub, hello: dict[str, object]) -> str:
    visitor, error = await connect(hub, hello)
    assert error["type"] == "error"
    closing = await visitor.ws.receive(timeout=5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4403)
    assert (await hub.store.list_tickets(TicketFilter(channel=NAME))).items == ()
    return str(error["code"])


async def test_a_signed_visitor_joins_the_customer_of_their_email(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings)
    customer = await _form_customer(hub, "ada@example.com")
    hello = {"visitor": {"name": "Ada"}, "identity": signed("u-42", email="Ada@Example.com")}
    visitor, welcome = await connect(hub, hello)
    assert welcome["signed"] is True
    ack = await visitor.say("c1", "about my order")
    assert await _chat_customer(hub, ack["ticket_id"]) == customer
    identities = {i.key for i in (await hub.store.get_customer(customer)).identities}
    assert {"chat:u-42", "email:ada@example.com"} <= identities


async def test_an_email_a_signed_visitor_only_typed_is_a_hint(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings)
    customer = await _form_customer(hub, "ada@example.com")
    hello = {"visitor": {"email": "ada@example.com"}, "identity": signed("mallory")}
    visitor, _ = await connect(hub, hello)
    ack = await visitor.say("c1", "send me Ada's invoices")
    ticket = await hub.store.get_ticket(ack["ticket_id"])
    assert ticket.customer_id != customer
    assert ticket.messages[0].meta["email_hint"] == "ada@example.com"


async def test_an_unsigned_visitors_email_is_a_hint_never_a_merge(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings)
    customer = await _form_customer(hub, "ada@example.com")
    visitor, welcome = await connect(
        hub, {"visitor": {"name": "Mallory", "email": "ada@example.com"}}
    )
    assert welcome["signed"] is False
    ack = await visitor.say("c1", "send me Ada's invoices")
    ticket = await hub.store.get_ticket(ack["ticket_id"])
    assert ticket.customer_id != customer
    assert ticket.messages[0].meta["email_hint"] == "ada@example.com"
    kinds = {i.kind for i in (await hub.store.get_customer(ticket.customer_id)).identities}
    assert kinds == {"visitor"}


async def test_the_same_signed_id_is_one_customer_on_every_device(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings)
    phone, _ = await connect(hub, {"identity": signed("u-7")})
    laptop, _ = await connect(hub, {"identity": signed("u-7")})
    first, second = await phone.say("p1", "from my phone"), await laptop.say("l1", "and laptop")
    assert first["ticket_id"] == second["ticket_id"]


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        ({}, "identity_refused"),
        ({"identity": signed("u-42", secret="another-secret-0123456789")}, "identity_refused"),
        ({"identity": {"id": "u-42", "hash": "00" * 32}}, "identity_refused"),
        ({"identity": {"id": "u-42"}}, "bad_frame"),
        (
            {"identity": {**signed("u-42"), "email": "ada@example.com", "email_hash": "0" * 64}},
            "identity_refused",
        ),
        ({"identity": {**signed("u-42"), "email": "ada@example.com"}}, "bad_frame"),
    ],
    ids=[
        "unsigned",
        "other-secret",
        "wrong-hash",
        "no-hash",
        "wrong-email-hash",
        "email-without-hash",
    ],
)
async def test_with_require_identity_unsigned_and_wrong_hashes_are_refused_at_hello(
    start_hub: StartHub, make_settings: MakeSettings, hello: dict[str, object], code: str
) -> None:
    hub = await chat_hub(start_hub, make_settings, require_identity=True)
    visitor, error = await connect(hub, hello)
    assert (error["type"], error["code"]) == ("error", code)
    closing = await visitor.ws.receive(timeout=5)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data in (4403, 1008)
    assert (await hub.store.list_tickets(TicketFilter(channel=NAME))).items == ()


async def test_without_enforcement_a_wrong_hash_is_still_refused(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings)
    assert (
        await _refused(hub, {"identity": {"id": "u-42", "hash": "ab" * 32}}) == "identity_refused"
    )
    _visitor, welcome = await connect(hub)  # unsigned visitors are welcome without enforcement
    assert welcome["signed"] is False


async def test_with_require_identity_a_signed_visitor_chats(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await chat_hub(start_hub, make_settings, require_identity=True)
    visitor, welcome = await connect(hub, {"identity": signed("u-1")})
    assert welcome["type"] == "welcome"
    assert (await visitor.say("c1", "hi"))["type"] == "ack"
