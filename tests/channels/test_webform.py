"""The web form parser: signed JSON in, Inbound out, every bad input a PayloadError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import hmac_sha256_hex, verify_hmac_sha256
from channels.webform import parse_form
from core.errors import PayloadError, SignatureError
from core.model import Identity
from tests.support import T0


def test_form_with_email_and_phone_gives_both_identities() -> None:
    body = json.dumps(
        {
            "external_id": "w1",
            "name": " Ada ",
            "email": "Ada@Example.com",
            "phone": "(555) 201-0042",
            "subject": "Refund",
            "message": "Please refund",
        }
    ).encode()
    contact = parse_form(body, T0, "US")
    assert contact.sender == Identity("email", "ada@example.com")
    assert contact.identities == (Identity("phone", "+15552010042"),)
    assert (contact.sender_name, contact.subject, contact.text) == (
        "Ada",
        "Refund",
        "Please refund",
    )
    assert (contact.channel, contact.key, contact.received_at) == ("form", "form:w1", T0)


def test_form_with_phone_only_is_sent_by_the_phone() -> None:
    contact = parse_form(b'{"external_id": "w2", "phone": "+442079460018", "message": "hi"}', T0)
    assert contact.sender == Identity("phone", "+442079460018")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"email": "a@b.co", "message": "x"}', "external_id is required"),
        (b'{"external_id": "1", "message": "x"}', "email or phone is required"),
        (b'{"external_id": 5, "email": "a@b.co"}', "external_id must be a string"),
        (b'{"external_id": "1", "email": "nope"}', "not an email address"),
        (b'{"external_id": "1", "phone": "call me"}', "not a phone number"),
        (b'{"external_id": "1", "email": "a@b.co", "color": "red"}', "unknown field"),
        (b'\xff\xfe{"a"', "not valid JSON"),
    ],
    ids=[
        "broken-json", "not-object", "no-external-id", "no-identity", "wrong-type",
        "bad-email", "bad-phone", "unknown-field", "not-utf8",
    ],
)  # fmt: skip
def test_malformed_forms_are_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_form(body, T0)


def test_overlong_fields_are_refused() -> None:
    body = json.dumps({"external_id": "1", "email": "a@b.co", "message": "x" * 101}).encode()
    with pytest.raises(PayloadError, match="longer than 100"):
        parse_form(body, T0, max_field_chars=100)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_anything_but_payload_error(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        parse_form(body, T0)


@given(st.dictionaries(st.sampled_from(["external_id", "email", "phone", "message", "name"]),
                       st.one_of(st.text(max_size=30), st.integers(), st.none())))  # fmt: skip
def test_arbitrary_field_values_never_escape_as_anything_but_payload_error(
    data: dict[str, object],
) -> None:
    with contextlib.suppress(PayloadError):
        parse_form(json.dumps(data).encode(), T0)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha1=abc", "sha256=", "sha256=" + "0" * 64, "md5=" + "0" * 32],
    ids=["missing", "empty", "wrong-scheme", "no-digest", "wrong-digest", "md5"],
)
def test_bad_signatures_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_hmac_sha256(b"secret", b"body", header, "form")


def test_good_signature_passes_in_any_hex_case() -> None:
    digest = hmac_sha256_hex(b"secret", b"body").upper()
    verify_hmac_sha256(b"secret", b"body", f"sha256={digest}", "form")
