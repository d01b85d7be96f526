"""A ticket's record after a scripted day, over real HTTP on SQLite and Redis: an SMS comes in,
agents claim, note, transfer, escalate and reply (through a local Twilio emulator), the
provider reports the delivery, the ticket is resolved, the customer writes again and reopens
it, and it is closed. Every step is on the record, with its actor, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.test_working_tickets import call, events, patch, routed
from tests.twilio_emulator import TwilioEmulator
from tests.twilio_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    post_twilio,
    sms_params,
    twilio_section,
)

BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN)
    yield emulator
    await emulator.close()


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, twilio_api: TwilioEmulator
) -> Hub:
    base = await twilio_api.start()
    settings = routed(
        make_settings,
        tmp_path,
        server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
        channels={"twilio": twilio_section(api_base=base, send_backoff="0")},
    )
    return await start_hub(settings)


async def sms(hub: Hub, sid: str, body: str) -> None:
    assert (await post_twilio(hub, "/webhooks/twilio/sms", sms_params(sid, body)))[0] == 200


async def post(hub: Hub, path: str, auth: dict[str, str], body: Any = None) -> Any:
    status, answer = await call(hub, "POST", path, auth, body)
    assert status in (200, 201), answer
    return answer


async def test_the_record_of_a_scripted_day(hub: Hub, twilio_api: TwilioEmulator) -> None:
    ann, bob = await hub.token(Role.AGENT, "ann"), await hub.token(Role.AGENT, "bob")
    carl = await hub.token(Role.AGENT, "carl")
    await sms(hub, "SM1", "I want a refund")
    ticket = await post(hub, "/api/queues/billing/claim", ann)
    path = f"/api/tickets/{ticket['id']}"
    await post(hub, f"{path}/notes", ann, {"body": "Charged twice on the 3rd"})
    await post(hub, f"{path}/transfer", ann, {"queue": "general", "note": "duplicates: general"})
    await post(hub, "/api/queues/general/claim", bob)
    await post(hub, f"{path}/escalate", bob, {"reason": "needs a refund approval"})
    await post(hub, "/api/queues/billing_l2/claim", carl)
    reply = await post(hub, f"{path}/reply", carl, {"body": "Refunded, sorry!"})
    report = [("MessageSid", reply["external_id"]), ("MessageStatus", "delivered")]
    assert (await post_twilio(hub, "/webhooks/twilio/sms/status", report))[0] == 204
    assert (await patch(hub, ticket["id"], carl, status="resolved"))[0] == 200
    await sms(hub, "SM2", "Thanks! One more thing")
    assert (await patch(hub, ticket["id"], carl, status="closed"))[0] == 200

    record = await events(hub, ticket["id"], ann)
    customer = f"customer:{ticket['customer_id']}"
    assert [(e["kind"], actor(e), brief(e)) for e in record] == [
        ("created", "rule:billing words", "billing normal billing words"),
        ("message_in", customer, "sms"),
        ("acknowledged", "system", "acknowledgement"),  # the TwiML answer, kept
        ("status", "agent:ann", "new>open"), ("assigned", "agent:ann", "None>ann"),
        ("note", "agent:ann", "Charged twice on the 3rd"),
        ("transferred", "agent:ann", "duplicates: general"),
        ("queue", "agent:ann", "billing>general"), ("unassigned", "agent:ann", "ann>None"),
        ("assigned", "agent:bob", "None>bob"),
        ("escalated", "agent:bob", "needs a refund approval"),
        ("queue", "agent:bob", "general>billing_l2"), ("unassigned", "agent:bob", "bob>None"),
        ("assigned", "agent:carl", "None>carl"),
        ("reply_out", "agent:carl", str(reply["id"])),
        ("delivery", "system", "queued"), ("delivery", "system", "delivered"),
        ("status", "agent:carl", "open>resolved"),
        ("message_in", customer, "sms"), ("status", customer, "resolved>open"),
        ("status", "agent:carl", "open>closed"),
    ]  # fmt: skip
    assert [e["seq"] for e in record] == list(range(1, len(record) + 1))
    assert all(e["at"].endswith("Z") for e in record)

    _, read = await call(hub, "GET", path, ann)
    assert [n["body"] for n in read["notes"]] == ["Charged twice on the 3rd", "duplicates: general"]
    assert [n["author"] for n in read["notes"]] == ["ann", "ann"]
    directions = [(m["direction"], m["automatic"]) for m in read["messages"]]
    assert directions == [
        ("inbound", None), ("outbound", "acknowledgement"), ("outbound", None), ("inbound", None),
    ]  # fmt: skip
    assert [r.form["Body"] for r in twilio_api.received] == ["Refunded, sorry!"]  # notes stay


def actor(event: dict[str, Any]) -> str:
    who = event["actor"]
    return f"{who['kind']}:{who['name']}" if who["name"] else str(who["kind"])


def brief(event: dict[str, Any]) -> str:
    """The part of an event's detail the day's script checks."""
    detail = event["detail"]
    if "from" in detail:
        return f"{detail['from']}>{detail['to']}"
    if event["kind"] == "created":
        return f"{detail['queue']} {detail['priority']} {detail['rule']}"
    for key in ("body", "note", "reason", "channel", "status", "automatic"):
        if key in detail:
            return str(detail[key])
    return str(detail["message_id"])
