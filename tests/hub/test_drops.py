"""Nothing dropped without a trace: every drop counted in contacthub_dropped_total by channel
and reason, the first of each kind logged with the setting that would take it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, MutableMapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from hub.demo.slack_emulator import SlackEmulator
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub import email_support as mail
from tests.hub.test_webhook_slack import send, start, tickets
from tests.hub.test_webhook_sms import SMS, twilio_settings
from tests.slack_support import ADA, deleted, message, slack_emulator
from tests.support import T0
from tests.twilio_support import post_twilio, sms_params

_SAMPLE = re.compile(r'^contacthub_dropped_total\{channel="(\w+)",reason="(\w+)"\} (\S+)$', re.M)


async def dropped(hub: Hub) -> dict[tuple[str, str], float]:
    async with hub.http.get("/metrics") as response:
        page = await response.text()
    return {(channel, reason): float(n) for channel, reason, n in _SAMPLE.findall(page)}


def firsts(logs: list[MutableMapping[str, Any]]) -> dict[str, MutableMapping[str, Any]]:
    lines = [line for line in logs if line["event"] == "dropped_first_of_kind"]
    assert len({line["reason"] for line in lines}) == len(lines)  # each kind logged once
    return {line["reason"]: line for line in lines}


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator("Ada@Example.com") as emulator:
        yield emulator


async def test_slack_drops_are_counted_by_reason_and_the_first_logged_with_its_setting(
    start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator
) -> None:
    hub = await start(start_hub, make_settings, slack_api, direct_messages=False)
    events = [
        message("elsewhere", channel="C0ELSEWHERE", ts="1700000001.000001"),
        message("elsewhere again", channel="C0ELSEWHERE", ts="1700000001.000002"),
        message("a dm", channel="D0DM", channel_type="im", ts="1700000001.000003"),
        message("beep", bot_id="B0OTHER", ts="1700000001.000004"),
        message("joined", subtype="channel_join", ts="1700000001.000005"),
        deleted(ts="1600000000.000001"),  # a message the hub never stored
        {"type": "reaction_added", "user": ADA, "reaction": "tada"},
    ]
    with capture_logs() as logs:
        for number, event in enumerate(events):
            status, _ = await send(hub, event, event_id=f"Ev{number:04}")
            assert status == 200
    assert await tickets(hub) == 0
    assert await dropped(hub) == {
        ("slack", "outside_support_channels"): 2.0,
        ("slack", "direct_messages_off"): 1.0,
        ("slack", "bot_message"): 1.0,
        ("slack", "not_speech"): 1.0,
        ("slack", "edit_of_unknown_message"): 1.0,
        ("slack", "not_a_message"): 1.0,
    }
    logged = firsts(logs)
    assert logged.keys() == {reason for _, reason in await dropped(hub)}
    outside = logged["outside_support_channels"]
    assert (outside["log_level"], outside["channel"]) == ("warning", "slack")
    assert outside["setting"] == "channels.slack.support_channels"
    assert "C0ELSEWHERE" in outside["detail"]
    assert logged["direct_messages_off"]["setting"] == "channels.slack.direct_messages"
    assert logged["bot_message"]["log_level"] == "info"
    assert logged["bot_message"]["setting"] == "none: nothing takes it"
    assert "reaction_added" in logged["not_a_message"]["detail"]


async def test_an_opted_out_customer_s_sms_is_stored_and_its_missing_acknowledgement_counted(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await start_hub(twilio_settings(make_settings))
    await hub.store.set_sms_opt_out("phone:+15551230001", opted_out=True, at=T0)
    with capture_logs() as logs:
        params = sms_params("SM1", "a question", sender="+15551230001")
        status, _ = await post_twilio(hub, SMS, params)
        assert status == 200
    assert len((await hub.store.get_ticket(1)).messages) == 1  # stored, nothing sent
    assert await dropped(hub) == {("sms", "acknowledgement_opted_out"): 1.0}
    assert firsts(logs)["acknowledgement_opted_out"]["channel"] == "sms"


def with_attachment(size: int) -> bytes:
    scan = EmailMessage()
    scan["From"], scan["To"], scan["Subject"] = "grace@example.com", mail.SUPPORT, "Scan"
    scan["Message-ID"] = "<scan@example.com>"
    scan.set_content("the scan, attached")
    scan.add_attachment(b"x" * size, "application", "pdf", filename="scan.pdf")
    return scan.as_bytes()


async def test_email_drops_attachments_over_the_limit_and_acknowledgements_it_owes_no_one(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    async with mail.outbox_server() as (outbox, relay):
        limits = {"max_attachment_bytes": 1024}
        hub = await start_hub(mail.email_settings(make_settings, tmp_path, relay, limits=limits))
        port = mail.smtp_port(hub)
        automatic = mail.compose(message_id="<auto@example.com>", Auto_Submitted="auto-replied")
        ours = mail.compose(sender=f"Us <{mail.SUPPORT}>", message_id="<loop@example.com>")
        with capture_logs() as logs:
            scan = with_attachment(4096)
            assert await mail.send(port, scan, sender="grace@example.com") == 250
            assert await mail.send(port, automatic) == 250
            assert await mail.send(port, ours, sender=mail.SUPPORT) == 250
            await outbox.wait_for(1)  # grace's acknowledgement: the only one owed
    assert await dropped(hub) == {
        ("email", "attachment_over_limit"): 1.0,
        ("email", "acknowledgement_automatic"): 1.0,
        ("email", "acknowledgement_to_own_address"): 1.0,
    }
    logged = firsts(logs)
    assert "limits.max_attachment_bytes" in logged["attachment_over_limit"]["setting"]
    assert "auto" in logged["acknowledgement_automatic"]["detail"]
