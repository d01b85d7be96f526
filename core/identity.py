"""Normalising the ways customers are reached, so one person is one identity everywhere.

Email addresses are compared lower-cased; phone numbers in E.164 (parsed with
`phonenumbers` and a configured default region for numbers without a country code).
"""

from __future__ import annotations

import functools
import re

import phonenumbers

from core.errors import PayloadError
from core.model import Identity

_SPACE = re.compile(r"\s")

EMAIL = "email"
PHONE = "phone"
SLACK = "slack"


def email_identity(raw: str) -> Identity:
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or _SPACE.search(address):
        raise PayloadError(f"not an email address: {mask(raw)}")
    return Identity(EMAIL, address)


def phone_identity(raw: str, default_region: str = "US") -> Identity:
    return Identity(PHONE, normalise_phone(raw, default_region))


@functools.lru_cache(maxsize=65536)
def normalise_phone(raw: str, default_region: str = "US") -> str:
    """E.164 for a number a customer typed or a provider sent; PayloadError if it is none.

    Cached: the same numbers come back again and again, and parsing costs ~20 µs.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise PayloadError(f"not a phone number: {mask(raw)}") from exc
    if not phonenumbers.is_possible_number(number):
        raise PayloadError(f"not a possible phone number: {mask(raw)}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def mask(value: str) -> str:
    """An address or number as logs may show it: enough to tell apart, not to reach."""
    value = value.strip()
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) <= 4:
        return "***"
    return f"{value[:3]}***{value[-2:]}"
