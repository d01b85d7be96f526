"""Callback list rows: header mapping, numbers in E.164 with their zones, preferred times."""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import timezone as phone_zones

from core.campaigns import CampaignPolicy, NewContact
from router.campaign_lists import (
    Invalid,
    Normaliser,
    list_phone,
    map_header,
    normalise_rows,
    preferred_hours,
    sniff_delimiter,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def normaliser(header: list[str], policy: CampaignPolicy | None = None) -> Normaliser:
    return Normaliser(map_header(header), "US", policy or CampaignPolicy(), NOW)


def test_columns_are_found_by_name_and_alias_case_and_spacing_ignored() -> None:
    columns = map_header(
        ["Full Name", "Phone Number", "E-Mail", "Ref", "Comments", "Best Time", "x"]
    )
    assert columns.positions == (1, 0, 2, 3, 4, 5)
    assert columns.ignored == ("x",)


def test_an_explicit_mapping_wins_over_aliases() -> None:
    columns = map_header(["phone", "Mobile", "Name"], {"phone": "Mobile"})
    assert columns.positions[:2] == (1, 2)
    assert columns.ignored == ("phone",)


HEADER_ERRORS = [
    pytest.param(["name", "email"], None, "no phone column", id="no-phone"),
    pytest.param(["phone", "tel"], None, "two columns are phone", id="two-phones"),
    pytest.param(["phone"], {"shoe": "x"}, "unknown column", id="unknown-mapping"),
    pytest.param([], None, "no phone column", id="empty"),
]


@pytest.mark.parametrize(("header", "explicit", "message"), HEADER_ERRORS)
def test_unusable_headers(header: list[str], explicit: dict[str, str] | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        map_header(header, explicit)


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [("phone,name", ","), ("phone;name;email", ";"), ('"a;b",c,d', ","), ("phone", ",")],
)
def test_the_delimiter_is_what_the_header_uses_most(line: str, delimiter: str) -> None:
    assert sniff_delimiter(line) == delimiter


NUMBERS = [
    pytest.param("(212) 555-0100", "+12125550100", ("America/New_York",), id="us-national"),
    pytest.param("+1 415 555 0100", "+14155550100", ("America/Los_Angeles",), id="us-e164"),
    pytest.param("+44 20 7946 0958", "+442079460958", ("Europe/London",), id="london"),
    pytest.param("011 33 1 42 68 53 00", "+33142685300", ("Europe/Paris",), id="us-exit-code"),
]


@pytest.mark.parametrize(("raw", "e164", "zones"), NUMBERS)
def test_numbers_become_e164_with_their_time_zones(
    raw: str, e164: str, zones: tuple[str, ...]
) -> None:
    assert list_phone(raw, "US") == (e164, zones)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("hello", "not a phone number"),
        ("+1 212 555 010", "not a valid"),
        ("+1 011 555 0100", "valid"),
    ],
)
def test_numbers_must_be_valid_not_only_possible(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list_phone(raw, "US")


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.integers(0, 3))
def test_zones_are_phonenumbers_own_answer(region: str, kind: int) -> None:
    """The shortcut (one type lookup for validity and zones) agrees with time_zones_for_number."""
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        return
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert list_phone(e164, "US") == (e164, tuple(phone_zones.time_zones_for_number(number)))


PREFERRED = [
    pytest.param("", ("", None), id="none"),
    pytest.param("14:00-17:00", ("14:00-17:00", None), id="hours"),
    pytest.param(" 9:00 - 12:00 ", ("09:00-12:00", None), id="loose-hours"),
    pytest.param("Evening", ("17:00-21:00", None), id="part-of-day"),
    pytest.param("2026-12-01T15:00-05:00", ("", datetime(2026, 12, 1, 20, tzinfo=UTC)), id="when"),
]


@pytest.mark.parametrize(("text", "expected"), PREFERRED)
def test_preferred_times(text: str, expected: tuple[str, datetime | None]) -> None:
    assert preferred_hours(text) == expected


@pytest.mark.parametrize("text", ["soon", "2026-12-01T15:00", "17:00-09:00", "25:00-26:00"])
def test_unusable_preferred_times(text: str) -> None:
    with pytest.raises(ValueError, match=r"preferred_time|hours|not a time"):
        preferred_hours(text)


def test_a_row_becomes_a_contact_with_slot_and_first_time() -> None:
    rows = normaliser(["phone", "name", "email", "ref", "notes", "preferred_time"]).rows(
        [(2, [" (212) 555-0100 ", "Ada", "ADA@Example.com", "A-1", "VIP", "afternoon"])]
    )
    assert rows == [
        NewContact(
            "+12125550100",
            "America/New_York|12:00-17:00",
            NOW,
            "Ada",
            "ada@example.com",
            "A-1",
            "VIP",
            "afternoon",
            1,
            2,
        )
    ]


def test_a_preferred_moment_delays_the_first_attempt() -> None:
    later = "2026-12-01T15:00:00+00:00"
    (row,) = normaliser(["phone", "preferred_time"]).rows([(2, ["2125550100", later])])
    assert isinstance(row, NewContact)
    assert row.next_at == datetime(2026, 12, 1, 15, tzinfo=UTC)


BAD_ROWS = [
    pytest.param(["", "Ada", ""], "no phone number", id="no-phone"),
    pytest.param(["12", "Ada", ""], "not a valid phone number", id="short"),
    pytest.param(["call me", "Ada", ""], "not a phone number", id="words"),
    pytest.param(["2125550100", "Ada", "ada@"], "not an email address", id="bad-email"),
    pytest.param(["2125550100", "A" * 201, ""], "name longer than 200", id="long-name"),
    pytest.param(["2125550100", "Ad\ufffda", ""], "not UTF-8", id="not-utf8"),
]


@pytest.mark.parametrize(("fields", "reason"), BAD_ROWS)
def test_bad_rows_say_why_with_their_line(fields: list[str], reason: str) -> None:
    (row,) = normaliser(["phone", "name", "email"]).rows([(7, fields)])
    assert isinstance(row, Invalid)
    assert row.line == 7
    assert reason in row.reason


def test_a_number_whose_zones_never_share_the_window_is_refused() -> None:
    """A US toll-free number may ring anywhere from Guam to Samoa: 8 hours never fit all."""
    policy = CampaignPolicy(hours="09:00-17:00")
    (row,) = normaliser(["phone"], policy).rows([(4, ["+1 800 555 0100"])])
    assert isinstance(row, Invalid)
    assert row.reason.startswith(
        "never callable: no time within 09:00-17:00 and the legal calling hours in all of its"
    )


def test_an_unknown_zone_is_invalid_unless_the_campaign_names_one() -> None:
    rows = [(3, ["+800 1234 5678"])]  # international freephone: no zone
    plain = normaliser(["phone"]).rows(rows)
    assert plain == [Invalid(3, "time zone unknown and the campaign names none")]
    zoned = normaliser(["phone"], CampaignPolicy(timezone="Europe/Berlin"))
    (row,) = normalise_rows(zoned, rows)
    assert isinstance(row, NewContact)
    assert row.slot == ""


def test_short_rows_read_missing_columns_as_empty() -> None:
    (row,) = normaliser(["phone", "name", "email"]).rows([(2, ["2125550100"])])
    assert isinstance(row, NewContact)
    assert (row.name, row.email) == ("", "")


def _parsed(text: str, region: str) -> phonenumbers.PhoneNumber | str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "not a number"
    return number if phonenumbers.is_valid_number(number) else "invalid"


def _listed(text: str, region: str) -> phonenumbers.PhoneNumber | str:
    try:
        e164, _ = list_phone(text, region)
    except ValueError as exc:
        return "not a number" if "not a phone number" in str(exc) else "invalid"
    return phonenumbers.parse(e164)


@given(
    digits=st.text("0123456789", min_size=6, max_size=13),
    punctuation=st.lists(st.sampled_from(["", " ", "-", ".", "(", ")", "  "]), max_size=14),
    plus=st.booleans(),
    region=st.sampled_from(["US", "CA", "PR", "GB", "FR", "DE", "IN", "BR"]),
)
def test_the_shortcuts_read_numbers_as_phonenumbers_does(
    digits: str, punctuation: list[str], plus: bool, region: str
) -> None:
    """Digits with punctuation, and North American numbers, are read without phonenumbers'
    parser; whatever they are, the answer is phonenumbers' own."""
    spaced = "".join(
        d + (punctuation[i] if i < len(punctuation) else "") for i, d in enumerate(digits)
    )
    text = ("+" if plus else "") + spaced
    assert _listed(text, region) == _parsed(text, region)


@given(st.from_regex(r"\A\+?1?[2-9][0-9]{9}\Z"), st.sampled_from(["US", "CA", "JM", "GB"]))
def test_north_american_numbers_are_phonenumbers_own(text: str, region: str) -> None:
    assert _listed(text, region) == _parsed(text, region)
