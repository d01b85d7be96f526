"""Twilio Voice webhooks over real HTTP: every IVR branch, every status callback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.model import Event, Ticket, TicketFilter
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET
from tests.twilio_support import (
    ADA,
    OLD_AUTH_TOKEN,
    PUBLIC_URL,
    call_params,
    post_twilio,
    twilio_section,
)

VOICE = "/webhooks/twilio/voice"
AFTER_HOURS_CALLER = "+15559990000"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"


def rules_file(tmp_path: Path) -> Path:
    """general: always open; night_desk: closed all of today (a holiday around now)."""
    today = datetime.now(UTC).date()
    days = ", ".join(str(today + timedelta(days=d)) for d in (-1, 0, 1))
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""
calendars:
  never:
    timezone: UTC
    weekly: {{mon-sun: "00:00-24:00"}}
    holidays: [{days}]
queues:
  general: {{kind: inbound}}
  night_desk: {{kind: inbound, calendar: never}}
  callbacks: {{kind: outbound}}
rules:
  - name: call me back
    when: {{event: {{in: [missed_call, callback_request]}}}}
    then: {{queue: callbacks, priority: high}}
  - name: after hours line
    when: {{from: "{AFTER_HOURS_CALLER}"}}
    then: {{queue: night_desk}}
default: {{queue: general}}
""",
        encoding="utf-8",
    )
    return path


def settings(make_settings: MakeSettings, tmp_path: Path, **twilio: Any) -> Any:
    return make_settings(
        server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
        routing={"rules": str(rules_file(tmp_path)), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}, "twilio": twilio_section(**twilio)},
    )


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    return await start_hub(settings(make_settings, tmp_path))


def verbs(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)  # noqa: S314  # our own TwiML, not untrusted XML  # the hub's own answer, parsed to check it
    assert root.tag == "Response"
    return [child.tag for child in root]


def element(twiml: str, tag: str) -> ET.Element:
    found = ET.fromstring(twiml).find(tag)  # noqa: S314  # our own TwiML, not untrusted XML
    assert found is not None
    return found


async def call(hub: Hub, sid: str = "CA1", caller: str = ADA) -> str:
    status, twiml = await post_twilio(hub, VOICE, call_params(sid, caller))
    assert status == 200
    return twiml


async def follow_up(hub: Hub, step: str, params: list[tuple[str, str]], query: str = "") -> Any:
    path = f"{VOICE}/{step}{query}"
    return await post_twilio(hub, path, params)


async def ticket(hub: Hub, ticket_id: int = 1) -> Ticket:
    return await hub.store.get_ticket(ticket_id)


def events(t: Ticket) -> list[str]:
    return [m.event for m in t.messages]


async def test_call_within_hours_is_enqueued_into_the_routed_queue(hub: Hub) -> None:
    twiml = await call(hub)
    assert verbs(twiml) == ["Say", "Enqueue"]
    enqueue = element(twiml, "Enqueue")
    assert enqueue.text == "general"
    assert enqueue.get("action") == f"{PUBLIC_URL}{VOICE}/queue"
    t = await ticket(hub)
    assert (t.channel, t.queue, events(t)) == ("voice", "general", [Event.CALL])


async def test_retried_call_webhook_is_one_ticket_with_one_message(hub: Hub) -> None:
    for _ in range(3):
        await call(hub)
    assert events(await ticket(hub)) == [Event.CALL]


async def test_call_outside_hours_gets_the_menu(hub: Hub) -> None:
    twiml = await call(hub, caller=AFTER_HOURS_CALLER)
    assert verbs(twiml) == ["Gather", "Say", "Record"]
    assert "not available" in "".join(element(twiml, "Gather").itertext())
    assert (await ticket(hub)).queue == "night_desk"


async def test_call_to_a_full_queue_gets_the_menu(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(settings(make_settings, tmp_path, voice={"max_queue_size": 1}))
    assert verbs(await call(hub, "CA1")) == ["Say", "Enqueue"]
    twiml = await call(hub, "CA2", "+15550000002")  # a second waiting ticket: over the size
    assert verbs(twiml)[0] == "Gather"
    assert "busy" in "".join(element(twiml, "Gather").itertext())


async def test_dial_number_replaces_the_queue(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(settings(make_settings, tmp_path, voice={"dial": "+15550001111"}))
    twiml = await call(hub)
    assert verbs(twiml) == ["Say", "Dial"]
    assert element(twiml, "Dial").text == "+15550001111"
    status, twiml = await follow_up(hub, "dialed", call_params("CA1", DialCallStatus="completed"))
    assert (status, verbs(twiml)) == (200, ["Say", "Hangup"])
    status, twiml = await follow_up(hub, "dialed", call_params("CA1", DialCallStatus="no-answer"))
    assert verbs(twiml)[0] == "Gather"
    assert events(await ticket(hub)) == [Event.CALL, Event.MISSED_CALL]


async def test_menu_1_requests_a_callback_and_moves_the_ticket(hub: Hub) -> None:
    await call(hub, caller=AFTER_HOURS_CALLER)
    params = call_params("CA1", AFTER_HOURS_CALLER, Digits="1")
    for _ in range(2):  # a retried webhook appends nothing
        status, twiml = await follow_up(hub, "menu", params)
        assert (status, verbs(twiml)) == (200, ["Say", "Hangup"])
    t = await ticket(hub)
    assert events(t) == [Event.CALL, Event.CALLBACK_REQUEST]
    assert (t.queue, t.priority) == ("callbacks", "high")  # the rule for the event fired


async def test_menu_2_records_a_voicemail_with_callbacks(hub: Hub) -> None:
    await call(hub, caller=AFTER_HOURS_CALLER)
    status, twiml = await follow_up(hub, "menu", call_params("CA1", AFTER_HOURS_CALLER, Digits="2"))
    assert (status, verbs(twiml)) == (200, ["Say", "Record"])
    record = element(twiml, "Record")
    assert record.get("recordingStatusCallback") == (
        f"{PUBLIC_URL}{VOICE}/recording?caller=%2B15559990000"
    )
    assert record.get("transcribe") == "true"


async def test_other_digit_repeats_the_menu(hub: Hub) -> None:
    await call(hub, caller=AFTER_HOURS_CALLER)
    status, twiml = await follow_up(hub, "menu", call_params("CA1", AFTER_HOURS_CALLER, Digits="7"))
    assert status == 200
    assert "not an option" in "".join(element(twiml, "Gather").itertext())


async def test_voicemail_recording_and_transcription_append_to_the_call(hub: Hub) -> None:
    await call(hub, caller=AFTER_HOURS_CALLER)
    recording = [("CallSid", "CA1"), ("RecordingSid", "RE1"), ("RecordingUrl", RECORDING),
                 ("RecordingStatus", "completed"), ("RecordingDuration", "9")]  # fmt: skip
    query = "?caller=%2B15559990000"  # signed as part of the URL, as Twilio does
    for _ in range(2):
        assert (await follow_up(hub, "recording", recording, query))[0] == 204
    transcription = [("CallSid", "CA1"), ("TranscriptionSid", "TR1"),
                     ("TranscriptionStatus", "completed"),
                     ("TranscriptionText", "Please call me about invoice 7")]  # fmt: skip
    assert (await follow_up(hub, "transcription", transcription, query))[0] == 204
    status, twiml = await follow_up(hub, "recorded", call_params("CA1", AFTER_HOURS_CALLER))
    assert (status, verbs(twiml)) == (200, ["Say", "Hangup"])
    t = await ticket(hub)
    assert events(t) == [Event.CALL, Event.VOICEMAIL, Event.VOICEMAIL]
    assert t.messages[1].attachments[0].url == RECORDING
    assert t.messages[2].body == "Please call me about invoice 7"
    assert t.queue == "night_desk"  # no rule for voicemails: the ticket stays where it was


async def test_recording_that_failed_appends_nothing(hub: Hub) -> None:
    await call(hub)
    params = [("CallSid", "CA1"), ("RecordingSid", "RE1"), ("RecordingStatus", "failed")]
    assert (await follow_up(hub, "recording", params))[0] == 204
    assert events(await ticket(hub)) == [Event.CALL]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
async def test_unanswered_call_status_is_a_missed_call(hub: Hub, status: str) -> None:
    for _ in range(2):
        params = call_params("CA1", CallStatus=status)
        assert (await follow_up(hub, "status", params))[0] == 204
    t = await ticket(hub)
    assert events(t) == [Event.MISSED_CALL]  # the webhook never came: a ticket of its own
    assert t.queue == "callbacks"


@pytest.mark.parametrize("status", ["completed", "in-progress", "ringing"])
async def test_other_call_statuses_append_nothing(hub: Hub, status: str) -> None:
    await call(hub)
    assert (await follow_up(hub, "status", call_params("CA1", CallStatus=status)))[0] == 204
    assert events(await ticket(hub)) == [Event.CALL]


async def test_hanging_up_in_the_queue_is_a_missed_call_once(hub: Hub) -> None:
    await call(hub)
    params = call_params("CA1", QueueResult="hangup")
    assert verbs((await follow_up(hub, "queue", params))[1]) == []
    await follow_up(hub, "status", call_params("CA1", CallStatus="canceled"))
    t = await ticket(hub)
    assert events(t) == [Event.CALL, Event.MISSED_CALL]
    assert t.queue == "callbacks"


@pytest.mark.parametrize(("result", "first"), [("queue-full", "Gather"), ("bridged", None)])
async def test_leaving_the_queue_otherwise(hub: Hub, result: str, first: str | None) -> None:
    await call(hub)
    status, twiml = await follow_up(hub, "queue", call_params("CA1", QueueResult=result))
    assert status == 200
    assert verbs(twiml)[:1] == ([first] if first else [])
    assert events(await ticket(hub)) == [Event.CALL]


@pytest.mark.parametrize("step", ["", "/menu", "/status", "/recording", "/queue"])
async def test_forged_voice_webhooks_are_403(hub: Hub, step: str) -> None:
    params = call_params("CA1", CallStatus="busy", Digits="1", QueueResult="hangup")
    status, _ = await post_twilio(hub, VOICE + step, params, token=OLD_AUTH_TOKEN)
    assert status == 403
    assert (await hub.store.list_tickets(TicketFilter())).items == ()


async def test_quarantined_call_is_kept_and_rejected(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(settings(make_settings, tmp_path, on_bad_signature="quarantine"))
    status, twiml = await post_twilio(hub, VOICE, call_params("CA1"), token=OLD_AUTH_TOKEN)
    assert (status, verbs(twiml)) == (200, ["Reject"])
    t = await ticket(hub)
    assert (t.queue, t.tags) == ("quarantine", ("unverified",))


async def test_withheld_number_is_still_answered(hub: Hub) -> None:
    assert verbs(await call(hub, caller="anonymous"))[-1] == "Enqueue"
    assert (await ticket(hub)).messages[0].sender == "anonymous:CA1"
