"""router/phone_kinds.py: one expression per country code types numbers as phonenumbers does."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from router.phone_kinds import kinds_for, national_type, number_type

COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _examples(country_code: int) -> list[str]:
    """National numbers of every type phonenumbers has an example of, in each region."""
    found = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code]:
        for kind in range(12):
            if region == "001":
                number = phonenumbers.example_number_for_non_geo_entity(country_code)
            else:
                number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(phonenumbers.national_significant_number(number))
    return found or ["1234567"]


def _number(country_code: int, national: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros and int(national):
        number.italian_leading_zero = True
        number.number_of_leading_zeros = zeros if zeros > 1 else None
    return number


@st.composite
def numbers(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    """An example number of some country code with a few digits changed, one added or one
    taken off: valid ones of every type, and the invalid ones next to them."""
    country_code = draw(st.sampled_from(COUNTRY_CODES))
    digits = list(draw(st.sampled_from(_examples(country_code))))
    for _ in range(draw(st.integers(0, 4))):
        digits[draw(st.integers(0, len(digits) - 1))] = str(draw(st.integers(0, 9)))
    change = draw(st.sampled_from(["", "add", "drop"]))
    if change == "add":
        digits.append(str(draw(st.integers(0, 9))))
    elif change == "drop" and len(digits) > 2:
        digits.pop()
    return _number(country_code, "".join(digits))


@settings(max_examples=3000)
@given(numbers())
def test_a_number_has_the_type_phonenumbers_gives_it(number: phonenumbers.PhoneNumber) -> None:
    assert number_type(number) == phonenumbers.number_type(number)


@pytest.mark.parametrize("country_code", COUNTRY_CODES)
def test_every_country_codes_examples_are_typed_as_phonenumbers_types_them(
    country_code: int,
) -> None:
    assert kinds_for(country_code) is not None  # none falls back to phonenumbers today
    for national in _examples(country_code):
        number = _number(country_code, national)
        assert number_type(number) == phonenumbers.number_type(number), national


@pytest.mark.parametrize(
    ("national", "kind"),
    [
        ("2125550143", PhoneNumberType.FIXED_LINE_OR_MOBILE),  # New York: the first region
        ("2684601234", PhoneNumberType.FIXED_LINE),  # Antigua, chosen by its leading digits
        ("2684641234", PhoneNumberType.MOBILE),
        ("2680001234", PhoneNumberType.UNKNOWN),  # Antigua's digits, valid nowhere: no region after
        ("8005550100", PhoneNumberType.TOLL_FREE),
        ("9005550100", PhoneNumberType.PREMIUM_RATE),
        ("1125550143", PhoneNumberType.UNKNOWN),
    ],
)
def test_north_american_numbers_find_their_region_first(national: str, kind: int) -> None:
    number = _number(1, national)
    assert number_type(number) == phonenumbers.number_type(number) == kind


def test_a_country_code_without_regions_is_left_to_phonenumbers() -> None:
    number = _number(999, "1234567")
    assert kinds_for(999) is None
    assert number_type(number) == national_type(999, "1234567") == PhoneNumberType.UNKNOWN
