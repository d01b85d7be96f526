"""Voice parsing and the IVR's TwiML: every event of a call, every branch of the menu."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy

from channels.twilio import twiml as tw
from channels.twilio.voice import (
    call_thread,
    missed_call,
    parse_call,
    parse_recording,
    parse_transcription,
)
from channels.twilio.webhook import Params
from core.errors import PayloadError
from core.model import Event, Identity
from tests.support import T0
from tests.twilio_support import ADA, call_params

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"


def params(pairs: list[tuple[str, str]]) -> Params:
    return MultiDictProxy(MultiDict(pairs))


def xml(response: object) -> ET.Element:
    return ET.fromstring(str(response))  # noqa: S314  # our own TwiML, parsed to check it


def test_call_is_a_ticket_threaded_by_its_call_sid() -> None:
    call = parse_call(params(call_params("CA1")), T0)
    assert (call.channel, call.event, call.key) == ("voice", Event.CALL, "voice:CA1")
    assert call.sender == Identity("phone", ADA)
    assert call.thread_keys == (call_thread("CA1"),)
    assert call.text == f"incoming call from {ADA}"


@pytest.mark.parametrize("caller", ["anonymous", "+266696687x", "client:alice", ""])
def test_withheld_caller_is_a_stranger_of_that_call_only(caller: str) -> None:
    call = parse_call(params(call_params("CA7", caller)), T0)
    assert call.sender == Identity("anonymous", "CA7")
    assert call.text == "incoming call from a withheld number"


def test_call_without_a_call_sid_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="CallSid"):
        parse_call(params([("From", ADA)]), T0)


def test_completed_recording_is_a_voicemail_with_its_url() -> None:
    pairs = [
        ("CallSid", "CA1"),
        ("RecordingSid", "RE1"),
        ("RecordingUrl", RECORDING),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "14"),
        ("caller", ADA),
    ]
    voicemail = parse_recording(params(pairs), T0)
    assert voicemail is not None
    assert (voicemail.event, voicemail.key, voicemail.text) == (
        Event.VOICEMAIL, "voice:CA1:RE1", "voicemail (14 s)"
    )  # fmt: skip
    assert voicemail.sender == Identity("phone", ADA)  # from the signed query: no From here
    assert voicemail.attachments[0].url == RECORDING
    assert voicemail.thread_keys == (call_thread("CA1"),)


@pytest.mark.parametrize("status", ["absent", "failed", "in-progress"])
def test_recording_that_did_not_complete_is_nothing(status: str) -> None:
    pairs = [("CallSid", "CA1"), ("RecordingSid", "RE1"), ("RecordingStatus", status)]
    assert parse_recording(params(pairs), T0) is None


def test_recording_url_must_be_http() -> None:
    pairs = [("CallSid", "CA1"), ("RecordingSid", "RE1"), ("RecordingUrl", "ftp://x/y")]
    with pytest.raises(PayloadError, match="RecordingUrl"):
        parse_recording(params(pairs), T0)


@pytest.mark.parametrize(
    ("status", "text"),
    [("completed", "Please call me about my refund"),
     ("failed", "(the voicemail could not be transcribed)")],
)  # fmt: skip
def test_transcription_appends_its_text_or_the_failure(status: str, text: str) -> None:
    pairs = [("CallSid", "CA1"), ("TranscriptionSid", "TR1"), ("TranscriptionStatus", status),
             ("TranscriptionText", "Please call me about my refund"), ("From", ADA)]  # fmt: skip
    transcription = parse_transcription(params(pairs), T0)
    assert (transcription.key, transcription.text) == ("voice:CA1:TR1", text)


def test_missed_call_has_one_key_per_call_whatever_tells_it() -> None:
    first = missed_call(params(call_params("CA1")), "call busy", T0)
    second = missed_call(params(call_params("CA1")), "hung up while waiting", T0)
    assert first.key == second.key == "voice:CA1:missed_call"
    assert first.event == Event.MISSED_CALL


def test_connect_enqueues_into_the_routed_queue() -> None:
    root = xml(tw.connect(tw.Ivr(public_url="https://hub.example.com"), "billing"))
    enqueue = root.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == "billing"
    assert enqueue.get("action") == "https://hub.example.com/webhooks/twilio/voice/queue"


def test_connect_dials_the_configured_number_instead() -> None:
    root = xml(tw.connect(tw.Ivr(dial="+15550001111"), "billing"))
    dial = root.find("Dial")
    assert dial is not None
    assert (dial.text, dial.get("action")) == ("+15550001111", "/webhooks/twilio/voice/dialed")
    assert root.find("Enqueue") is None


def test_menu_gathers_one_digit_then_falls_back_to_voicemail() -> None:
    root = xml(tw.menu(tw.Ivr(), "We are closed.", ADA))
    gather = root.find("Gather")
    assert gather is not None
    assert (gather.get("numDigits"), gather.get("action")) == ("1", "/webhooks/twilio/voice/menu")
    assert "We are closed. Press 1" in "".join(gather.itertext())
    record = root.find("Record")
    assert record is not None
    assert record.get("transcribe") == "true"
    assert record.get("recordingStatusCallback") == (
        "/webhooks/twilio/voice/recording?caller=%2B15552010042"
    )
    assert record.get("transcribeCallback") == (
        "/webhooks/twilio/voice/transcription?caller=%2B15552010042"
    )


def test_reject_and_goodbye_are_valid_twiml() -> None:
    assert xml(tw.reject()).find("Reject") is not None
    goodbye = xml(tw.say_and_hang_up(tw.Ivr(), "Bye."))
    assert [child.tag for child in goodbye] == ["Say", "Hangup"]


@pytest.mark.parametrize(("waiting", "admitted"), [(0, True), (3, True), (4, False)])
def test_queue_admits_calls_up_to_its_configured_size(waiting: int, admitted: bool) -> None:
    assert tw.Ivr(max_queue_size=3).admits(waiting) is admitted
    assert tw.Ivr().admits(waiting * 1000)


_FIELDS = st.sampled_from(
    ["CallSid", "From", "To", "RecordingSid", "RecordingUrl", "RecordingStatus",
     "TranscriptionSid", "TranscriptionText", "TranscriptionStatus", "caller"]
)  # fmt: skip


@given(st.lists(st.tuples(_FIELDS, st.text(max_size=40)), max_size=12))
def test_arbitrary_voice_params_parse_or_are_a_payload_error(pairs: list[tuple[str, str]]) -> None:
    for parse in (parse_call, parse_recording, parse_transcription):
        try:
            contact = parse(params(pairs), T0)
        except PayloadError:
            continue
        if contact is not None:
            assert contact.channel == "voice"
            assert contact.thread_keys[0].startswith("twilio-call:")
