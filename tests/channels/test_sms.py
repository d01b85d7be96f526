"""SMS/MMS parsing: Twilio's form parameters to an Inbound, keywords, delivery reports, replies."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy

from channels.twilio.rest import twilio_error
from channels.twilio.sms import (
    Keyword,
    acknowledgement_twiml,
    keyword,
    parse_sms,
    parse_status,
    reply_twiml,
)
from channels.twilio.sms_sender import reply_route
from channels.twilio.webhook import Params
from core.errors import Conflict, PayloadError
from core.model import (
    Attachment,
    Delivery,
    Direction,
    Identity,
    Message,
    Priority,
    Route,
    Status,
    Ticket,
)
from tests.support import T0
from tests.twilio_support import ADA, HUB_NUMBER, sms_params

MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def params(pairs: list[tuple[str, str]]) -> Params:
    return MultiDictProxy(MultiDict(pairs))


def test_sms_becomes_an_inbound_with_e164_numbers() -> None:
    contact = parse_sms(params(sms_params("SM1", "Refund please", "(555) 201-0042")), T0)
    assert (contact.channel, contact.external_id, contact.key) == ("sms", "SM1", "sms:SM1")
    assert contact.sender == Identity("phone", ADA)
    assert (contact.recipient, contact.text, contact.received_at) == (
        HUB_NUMBER,
        "Refund please",
        T0,
    )
    assert contact.attachments == ()


def test_mms_media_are_attachment_references() -> None:
    media = [(MEDIA, "image/jpeg"), (MEDIA.replace("ME1", "ME2"), "")]
    contact = parse_sms(params(sms_params("MM1", "", media=media)), T0)
    assert contact.attachments == (
        Attachment("ME1", "image/jpeg", url=MEDIA),
        Attachment("ME2", "application/octet-stream", url=MEDIA.replace("ME1", "ME2")),
    )


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        ([("From", ADA), ("Body", "x")], "MessageSid is required"),
        ([("MessageSid", "SM/../1"), ("From", ADA)], "not a Twilio SID"),
        ([("MessageSid", "SM1"), ("Body", "x")], "From is required"),
        ([("MessageSid", "SM1"), ("From", "not a number")], "not a phone number"),
        ([("MessageSid", "SM1"), ("From", ADA), ("NumMedia", "11")], "NumMedia"),
        ([("MessageSid", "SM1"), ("From", ADA), ("NumMedia", "-1")], "NumMedia"),
        ([("MessageSid", "SM1"), ("From", ADA), ("NumMedia", "1")], "MediaUrl0 is required"),
        (
            [("MessageSid", "SM1"), ("From", ADA), ("NumMedia", "1"), ("MediaUrl0", "file:///x")],
            "not an http(s) URL",
        ),
    ],
    ids=["no-sid", "bad-sid", "no-from", "bad-from", "too-much-media", "negative-media",
         "missing-media-url", "media-url-scheme"],
)  # fmt: skip
def test_malformed_sms_is_a_payload_error_with_the_reason(
    pairs: list[tuple[str, str]], reason: str
) -> None:
    with pytest.raises(PayloadError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_sms(params(pairs), T0)


def test_short_code_recipient_stays_as_written() -> None:
    pairs = [(k, "12345" if k == "To" else v) for k, v in sms_params("SM1")]
    assert parse_sms(params(pairs), T0).recipient == "12345"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", Keyword.OPT_OUT), ("stop", Keyword.OPT_OUT), (" Stop. ", Keyword.OPT_OUT),
        ("STOPALL", Keyword.OPT_OUT), ("unsubscribe", Keyword.OPT_OUT),
        ("CANCEL", Keyword.OPT_OUT), ("end", Keyword.OPT_OUT), ("Quit!", Keyword.OPT_OUT),
        ("START", Keyword.OPT_IN), ("yes", Keyword.OPT_IN), ("UNSTOP", Keyword.OPT_IN),
        ("help", Keyword.HELP),
        ("please stop calling", None), ("stop it", None), ("", None), ("helpful", None),
    ],
)  # fmt: skip
def test_keywords_are_single_words_in_any_case(text: str, word: Keyword | None) -> None:
    assert keyword(text) is word


@pytest.mark.parametrize(
    ("pairs", "delivery"),
    [
        ([("MessageSid", "SM9"), ("MessageStatus", "delivered")], Delivery("delivered", "SM9")),
        (
            [("MessageSid", "SM9"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")],
            Delivery("undelivered", "SM9", "twilio error 30003"),
        ),
    ],
    ids=["delivered", "undelivered"],
)
def test_status_callback_is_the_message_sid_and_its_delivery(
    pairs: list[tuple[str, str]], delivery: Delivery
) -> None:
    assert parse_status(params(pairs)) == ("SM9", delivery)


def test_status_callback_without_a_status_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="MessageStatus"):
        parse_status(params([("MessageSid", "SM9")]))


_FIELDS = st.sampled_from(
    ["MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0", "X"]
)


@given(st.lists(st.tuples(_FIELDS, st.text(max_size=40)), max_size=12))
def test_arbitrary_form_params_parse_or_are_a_payload_error(pairs: list[tuple[str, str]]) -> None:
    try:
        contact = parse_sms(params(pairs), T0)
    except PayloadError:
        return
    assert contact.sender.kind == "phone"
    assert contact.sender.value.startswith("+")
    assert contact.external_id.isalnum()
    assert len(contact.attachments) <= 10


@given(st.text(max_size=30))
def test_keyword_of_any_text_is_a_keyword_or_none(text: str) -> None:
    assert keyword(text) in (*Keyword, None)


def _ticket(*messages: Message) -> Ticket:
    return Ticket(
        1, Status.NEW, "sms", "general", Priority.NORMAL, 1, "", T0, T0, Route(None, ()),
        messages=messages,
    )  # fmt: skip


def _message(direction: Direction, sender: str, recipient: str, minutes: int) -> Message:
    return Message(1, 1, direction, "sms", "x", T0 + timedelta(minutes=minutes), "", "message",
                   sender, recipient)  # fmt: skip


def test_reply_goes_from_the_number_written_to_back_to_the_writer() -> None:
    ticket = _ticket(
        _message(Direction.INBOUND, "phone:+15550000001", "+15557654321", 0),
        _message(Direction.INBOUND, f"phone:{ADA}", HUB_NUMBER, 1),
        _message(Direction.OUTBOUND, "", "", 2),
    )
    assert reply_route(ticket) == (HUB_NUMBER, ADA)


def test_ticket_without_a_phone_sender_cannot_be_replied_to() -> None:
    with pytest.raises(Conflict, match="no SMS from a phone number"):
        reply_route(_ticket(_message(Direction.INBOUND, "email:a@b.org", "x", 0)))


def test_twilio_errors_read_as_one_line() -> None:
    assert twilio_error(400, {"code": 21211, "message": "bad To"}) == "twilio 400: 21211 bad To"
    assert twilio_error(503, {}) == "twilio 503"


def test_acknowledgement_twiml_escapes_the_text_and_carries_the_ticket_number() -> None:
    twiml = acknowledgement_twiml("Ticket #{ticket} <ok> & {{thanks}}", 42)
    message = ET.fromstring(twiml).find("Message")  # noqa: S314  # our own TwiML, not untrusted XML  # our own TwiML
    assert message is not None
    assert message.text == "Ticket #42 <ok> & {thanks}"
    assert ET.fromstring(reply_twiml("")).tag == "Response"  # noqa: S314  # our own TwiML, not untrusted XML
