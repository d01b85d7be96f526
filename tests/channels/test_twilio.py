"""Twilio's shared webhook pieces: the URL forms a signature may cover, form bodies, quarantine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDictProxy

from channels.twilio.webhook import parse_form, quarantined, url_forms, without_query
from core.errors import PayloadError
from core.model import Identity
from tests.support import T0, inbound


@pytest.mark.parametrize(
    ("base", "path", "forms"),
    [
        (
            "https://hub.example.com",
            "/webhooks/twilio/sms",
            ("https://hub.example.com/webhooks/twilio/sms",
             "https://hub.example.com:443/webhooks/twilio/sms"),
        ),
        (
            "https://hub.example.com:443/",
            "/webhooks/twilio/sms?x=1",
            ("https://hub.example.com:443/webhooks/twilio/sms?x=1",
             "https://hub.example.com/webhooks/twilio/sms?x=1"),
        ),
        (
            "http://hub.example.com",
            "/a",
            ("http://hub.example.com/a", "http://hub.example.com:80/a"),
        ),
        ("https://hub.example.com:8443", "/a", ("https://hub.example.com:8443/a",)),
        ("https://proxy.example.com/hub", "/a", ("https://proxy.example.com/hub/a",
                                                 "https://proxy.example.com:443/hub/a")),
    ],
    ids=["default-port-added", "default-port-removed", "http", "other-port", "path-prefix"],
)  # fmt: skip
def test_url_forms_are_as_written_then_with_the_default_port_toggled(
    base: str, path: str, forms: tuple[str, ...]
) -> None:
    assert url_forms(base, path) == forms


def test_metric_label_drops_the_query() -> None:
    assert without_query("https://h.example/a?caller=%2B1#x") == "https://h.example/a"


def test_form_keeps_repeated_and_blank_values() -> None:
    params = parse_form(b"A=1&A=2&Body=&To=%2B1555", "sms")
    assert params.getall("A") == ["1", "2"]
    assert (params["Body"], params["To"]) == ("", "+1555")


def test_form_that_is_not_utf8_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="UTF-8"):
        parse_form(b"Body=\xff\xfe", "sms")


@given(st.binary(max_size=300))
def test_any_body_parses_or_is_a_payload_error(body: bytes) -> None:
    try:
        params = parse_form(body, "sms")
    except PayloadError:
        return
    assert isinstance(params, MultiDictProxy)


def test_quarantined_contact_joins_nobody_and_keeps_the_genuine_key_free() -> None:
    contact = inbound("SM1", "phone:+15552010042", channel="sms", thread_keys=("k",))
    kept = quarantined(contact, "https://hub.example.com/webhooks/twilio/sms")
    assert kept.sender == Identity("unverified", "phone:+15552010042")
    assert kept.all_identities == (kept.sender,)
    assert kept.thread_keys == ()
    assert kept.key != contact.key
    assert kept.meta["checked_url"] == "https://hub.example.com/webhooks/twilio/sms"
    assert kept.received_at == T0
