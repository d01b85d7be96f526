"""Identities normalise so one person is one identity across channels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import PayloadError
from core.identity import email_identity, mask, normalise_phone, phone_identity
from core.model import Identity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
    ],
    ids=["case", "spaces", "plus-and-subdomain"],
)
def test_email_is_lower_cased_and_trimmed(raw: str, expected: str) -> None:
    assert email_identity(raw) == Identity("email", expected)


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@localhost", "a b@x.org"])
def test_non_addresses_are_refused(raw: str) -> None:
    with pytest.raises(PayloadError, match="not an email address"):
        email_identity(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(555) 201-0042", "US", "+15552010042"),
        ("+1 555 201 0042", "GB", "+15552010042"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 20 7946 0018", "US", "+442079460018"),
    ],
    ids=["us-national", "international-ignores-region", "gb-national", "gb-international"],
)
def test_phone_numbers_become_e164(raw: str, region: str, expected: str) -> None:
    assert phone_identity(raw, region) == Identity("phone", expected)


@pytest.mark.parametrize("raw", ["", "hello", "12", "+999 1234"])
def test_non_numbers_are_refused(raw: str) -> None:
    with pytest.raises(PayloadError):
        normalise_phone(raw, "US")


@given(st.text(max_size=40))
def test_phone_parsing_never_raises_anything_but_payload_error(raw: str) -> None:
    try:
        result = normalise_phone(raw, "US")
    except PayloadError:
        return
    assert result.startswith("+")


@pytest.mark.parametrize(
    ("value", "masked"),
    [("ada@example.com", "a***@example.com"), ("+15552010042", "+15***42"), ("123", "***")],
    ids=["email", "phone", "short"],
)
def test_mask_hides_the_reachable_part(value: str, masked: str) -> None:
    assert mask(value) == masked
