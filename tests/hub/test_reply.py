"""Agents' SMS replies through the Twilio Messages API (a local emulator) and their status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET, form_body, form_headers
from tests.twilio_emulator import TwilioEmulator
from tests.twilio_support import (
    ACCOUNT_SID,
    ADA,
    AUTH_TOKEN,
    HUB_NUMBER,
    PUBLIC_URL,
    post_twilio,
    sms_params,
    twilio_section,
)

STATUS = "/webhooks/twilio/sms/status"


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN)
    yield emulator
    await emulator.close()


async def start(
    start_hub: StartHub, make_settings: MakeSettings, api: TwilioEmulator, **twilio: Any
) -> Hub:
    base = await api.start()
    section = twilio_section(api_base=base, send_backoff="0", **twilio)
    return await start_hub(
        make_settings(
            server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
            channels={"webform": {"secret": FORM_SECRET}, "twilio": section},
        )
    )


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, twilio_api: TwilioEmulator) -> Hub:
    return await start(start_hub, make_settings, twilio_api)


async def reply(hub: Hub, ticket_id: int, body: Any, role: Role = Role.AGENT) -> tuple[int, Any]:
    headers = await hub.token(role, "alice")
    async with hub.http.post(f"/api/tickets/{ticket_id}/reply", json=body, headers=headers) as r:
        return r.status, await r.json()


async def sms_ticket(hub: Hub) -> int:
    status, _ = await post_twilio(hub, "/webhooks/twilio/sms", sms_params("SM1", "Refund?"))
    assert status == 200
    return 1


async def test_reply_is_sent_from_the_number_written_to_and_recorded(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    ticket_id = await sms_ticket(hub)
    status, message = await reply(hub, ticket_id, {"body": "Refunded, sorry!"})
    assert status == 201
    assert (message["direction"], message["delivery"], message["author"]) == (
        "outbound", "queued", "alice"
    )  # fmt: skip
    (received,) = twilio_api.received
    assert received.authorized
    assert received.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert received.form == {
        "To": ADA,
        "From": HUB_NUMBER,
        "Body": "Refunded, sorry!",
        "StatusCallback": f"{PUBLIC_URL}{STATUS}",
    }
    stored = (await hub.store.get_ticket(ticket_id)).messages[-1]
    assert stored.external_id.startswith("SM")
    assert stored.external_id == message["external_id"]


async def test_429_and_5xx_are_retried_until_twilio_takes_the_message(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    ticket_id = await sms_ticket(hub)
    twilio_api.fail_next(429, 20429, "Too Many Requests", **{"Retry-After": "0"})
    twilio_api.fail_next(503, 20500, "Service Unavailable")
    status, message = await reply(hub, ticket_id, {"body": "On it"})
    assert (status, message["delivery"]) == (201, "queued")
    assert len(twilio_api.received) == 3


async def test_final_refusal_is_502_and_kept_on_the_message_with_its_reason(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    ticket_id = await sms_ticket(hub)
    twilio_api.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    status, answer = await reply(hub, ticket_id, {"body": "On it"})
    assert status == 502
    reason = "twilio 400: 21610 Attempt to send to unsubscribed recipient"
    assert answer["error"] == f"not delivered: {reason}"
    assert len(twilio_api.received) == 1  # a 4xx is final: not retried
    stored = (await hub.store.get_ticket(ticket_id)).messages[-1]
    assert (stored.body, stored.delivery, stored.error) == ("On it", "failed", reason)


async def test_retries_exhausted_are_recorded_as_failed(
    start_hub: StartHub, make_settings: MakeSettings, twilio_api: TwilioEmulator
) -> None:
    hub = await start(start_hub, make_settings, twilio_api, send_attempts=3)
    ticket_id = await sms_ticket(hub)
    for _ in range(3):
        twilio_api.fail_next(500, 20500, "Internal Server Error")
    status, answer = await reply(hub, ticket_id, {"body": "On it"})
    assert status == 502
    assert (
        answer["message"]["error"] == "twilio 500: 20500 Internal Server Error (after 3 attempts)"
    )
    assert len(twilio_api.received) == 3


async def test_wrong_credentials_are_reported_as_twilio_answers_them(
    start_hub: StartHub, make_settings: MakeSettings, twilio_api: TwilioEmulator
) -> None:
    hub = await start(start_hub, make_settings, twilio_api)
    twilio_api.auth_token = "rotated-" + AUTH_TOKEN  # the account's token changed at Twilio
    ticket_id = await sms_ticket(hub)
    status, answer = await reply(hub, ticket_id, {"body": "On it"})
    assert status == 502
    assert answer["message"]["error"] == "twilio 401: 20003 Authenticate"
    assert not twilio_api.received[0].authorized


async def test_opted_out_customer_gets_nothing(hub: Hub, twilio_api: TwilioEmulator) -> None:
    ticket_id = await sms_ticket(hub)
    await post_twilio(hub, "/webhooks/twilio/sms", sms_params("SM2", "STOP"))
    status, answer = await reply(hub, ticket_id, {"body": "Still there?"})
    assert status == 409
    assert "opted out of SMS" in answer["error"]
    assert twilio_api.received == []
    messages = (await hub.store.get_ticket(ticket_id)).messages
    assert [m.author for m in messages] == ["", "system", ""]  # SMS, acknowledgement, STOP


async def test_form_ticket_with_an_email_and_no_relay_is_409_with_the_reason(hub: Hub) -> None:
    body = form_body("w1")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
        ticket_id = (await r.json())["ticket_id"]
    status, answer = await reply(hub, ticket_id, {"body": "Hello"})
    assert status == 409
    assert answer["error"] == (
        "replies on the form channel cannot be sent: the customer can be answered by email "
        "([outbound.smtp]), which is not configured"
    )


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"text": "x"}, 400, "the body must be"),
        ({"body": 3}, 400, "the body must be"),
        ({"body": "  "}, 400, "must not be empty"),
        ({"body": "x" * 1601}, 400, "at most 1600"),
    ],
    ids=["wrong-key", "not-text", "blank", "too-long"],
)
async def test_bad_reply_is_400_and_sends_nothing(
    hub: Hub, twilio_api: TwilioEmulator, body: Any, status: int, reason: str
) -> None:
    ticket_id = await sms_ticket(hub)
    answer = await reply(hub, ticket_id, body)
    assert answer[0] == status
    assert reason in answer[1]["error"]
    assert twilio_api.received == []


async def test_reply_needs_the_agent_role_and_a_ticket(hub: Hub) -> None:
    ticket_id = await sms_ticket(hub)
    assert (await reply(hub, ticket_id, {"body": "x"}, Role.OUTBOUND))[0] == 403
    assert (await reply(hub, 999, {"body": "x"}))[0] == 404


@pytest.mark.parametrize(
    ("reports", "delivery", "error"),
    [
        ([("sent", "")], "sent", None),
        ([("sent", ""), ("delivered", "")], "delivered", None),
        ([("delivered", ""), ("sent", "")], "delivered", None),  # reports arrive unordered
        ([("undelivered", "30003")], "undelivered", "twilio error 30003"),
        ([("failed", "30008"), ("sent", "")], "failed", "twilio error 30008"),
    ],
    ids=["sent", "delivered", "late-sent", "undelivered", "failed"],
)
async def test_status_callbacks_update_the_delivery(
    hub: Hub, reports: list[tuple[str, str]], delivery: str, error: str | None
) -> None:
    ticket_id = await sms_ticket(hub)
    _, message = await reply(hub, ticket_id, {"body": "On it"})
    for status, code in reports:
        params = [("MessageSid", message["external_id"]), ("MessageStatus", status)]
        params += [("ErrorCode", code)] if code else []
        assert (await post_twilio(hub, STATUS, params))[0] == 204
    headers = await hub.token(Role.AGENT)
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=headers) as response:
        last = (await response.json())["messages"][-1]
    assert (last["delivery"], last["error"]) == (delivery, error)


async def test_status_callback_for_an_unknown_message_changes_nothing(hub: Hub) -> None:
    params = [("MessageSid", "SMunknown"), ("MessageStatus", "delivered")]
    assert (await post_twilio(hub, STATUS, params))[0] == 204


async def test_forged_status_callback_is_403(hub: Hub) -> None:
    ticket_id = await sms_ticket(hub)
    _, message = await reply(hub, ticket_id, {"body": "On it"})
    params = [("MessageSid", message["external_id"]), ("MessageStatus", "failed")]
    status, _ = await post_twilio(hub, STATUS, params, token="not-the-auth-token-at-all")
    assert status == 403
    assert (await hub.store.get_ticket(ticket_id)).messages[-1].delivery == "queued"


async def test_reply_is_in_the_openapi_document(hub: Hub) -> None:
    async with hub.http.get("/api/openapi.json") as response:
        paths = (await response.json())["paths"]
    assert set(paths["/api/tickets/{id}/reply"]["post"]["responses"]) >= {"201", "409", "502"}


async def close(hub: Hub, ticket_id: int) -> dict[str, str]:
    """Close the ticket as a supervisor; their headers."""
    sue = await hub.token(Role.SUPERVISOR, "sue")
    url = f"/api/tickets/{ticket_id}"
    async with hub.http.patch(url, json={"status": "closed"}, headers=sue) as response:
        assert response.status == 200
    return sue


async def test_a_closed_ticket_takes_no_reply_and_says_so_before_it(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    ticket_id = await sms_ticket(hub)
    headers = await close(hub, ticket_id)
    status, answer = await reply(hub, ticket_id, {"body": "One more thing"})
    assert status == 409
    assert answer["error"].startswith(f"ticket {ticket_id} is closed")
    assert "no reply goes out" in answer["error"]
    assert twilio_api.received == []
    assert [m.author for m in (await hub.store.get_ticket(ticket_id)).messages] == ["", "system"]
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=headers) as response:
        way = (await response.json())["reply"]
    assert way["channel"] is None
    assert "no reply goes out" in way["refused"]


async def test_a_follow_up_writes_again_on_a_new_ticket_that_the_answer_comes_back_to(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    closed_id = await sms_ticket(hub)
    sue = await close(hub, closed_id)
    async with hub.http.get(f"/api/tickets/{closed_id}", headers=sue) as response:
        assert (await response.json())["follow_up"] == {
            "channel": "sms",
            "to": ADA,
            "refused": None,
        }
    alice = await hub.token(Role.AGENT, "alice")
    url = f"/api/tickets/{closed_id}/follow-up"
    async with hub.http.post(url, json={"body": "Did the refund arrive?"}, headers=alice) as r:
        assert r.status == 201, await r.text()
        made = await r.json()
    ticket, message = made["ticket"], made["message"]
    assert ticket["id"] != closed_id
    assert (ticket["status"], ticket["assignee"], ticket["channel"]) == ("open", "alice", "sms")
    assert (message["author"], message["delivery"]) == ("alice", "queued")
    assert [m.id for m in (await hub.store.get_ticket(ticket["id"])).messages] == [message["id"]]
    (sent,) = twilio_api.received
    assert (sent.form["To"], sent.form["From"], sent.form["Body"]) == (
        ADA, HUB_NUMBER, "Did the refund arrive?",
    )  # fmt: skip
    async with hub.http.get(f"/api/tickets/{ticket['id']}", headers=alice) as response:
        assert (await response.json())["reply"] == {"channel": "sms", "to": ADA, "refused": None}
    status, _ = await reply(hub, ticket["id"], {"body": "Or call us"})  # before the answer too
    assert status == 201
    assert [(r.form["To"], r.form["Body"]) for r in twilio_api.received][1:] == [
        (ADA, "Or call us")
    ]
    status, _ = await post_twilio(hub, "/webhooks/twilio/sms", sms_params("SM9", "Yes, thanks"))
    assert status == 200
    answered = await hub.store.get_ticket(ticket["id"])
    assert [m.body for m in answered.messages] == [
        "Did the refund arrive?", "Or call us", "Yes, thanks",
    ]  # fmt: skip
    closed = await hub.store.get_ticket(closed_id)
    assert (closed.status, len(closed.messages)) == ("closed", 2)  # SMS and its acknowledgement


async def test_a_live_ticket_is_replied_on_not_followed_up(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    ticket_id = await sms_ticket(hub)
    alice = await hub.token(Role.AGENT, "alice")
    url = f"/api/tickets/{ticket_id}/follow-up"
    async with hub.http.post(url, json={"body": "Hello again"}, headers=alice) as response:
        assert response.status == 409
        assert (await response.json())["error"] == (
            f"ticket {ticket_id} is new: reply on it (a follow-up is of a closed ticket)"
        )
    async with hub.http.post(url, json={"body": ""}, headers=alice) as response:
        assert response.status == 409  # the status is said first
    assert twilio_api.received == []
    assert (await hub.store.last_event_seq()) == len(await hub.store.ticket_events(ticket_id))
