"""A number's type as phonenumbers finds it, with one regular expression per country code.

phonenumbers types a number by trying its region's patterns one after another (premium
rate, toll free, ..., fixed line, mobile), and for a country code shared by several regions
(+1 has 25) it first tries each region's the same way to find the number's region. For a
North American number that is ~20 Python calls, each looking its pattern up again: most of
what normalising a callback list costs. Here the same patterns are joined, in the same
order, into one expression per country code; its first alternative that matches names the
type, and the regex engine tries them without going back to Python.

A property test holds `number_type` to `phonenumbers.number_type` over every region's
example numbers and random digits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType

UNKNOWN = PhoneNumberType.UNKNOWN

_SPECIAL = (  # the order of phonenumbers' _number_type_helper
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
)


@dataclass(frozen=True, slots=True)
class Kinds:
    """One country code's patterns as one expression: alternative i answers `types[i]`."""

    pattern: re.Pattern[str]
    types: tuple[int, ...]

    def of(self, national: str) -> int:
        found = self.pattern.match(national)
        if found is None or found.lastindex is None:
            return UNKNOWN
        return self.types[found.lastindex - 1]


def number_type(number: phonenumbers.PhoneNumber) -> int:
    """`phonenumbers.number_type(number)`."""
    kinds = kinds_for(number.country_code or 0)
    if kinds is None:  # patterns this module cannot join: phonenumbers itself
        return int(phonenumbers.number_type(number))
    return kinds.of(phonenumbers.national_significant_number(number))


def national_type(country_code: int, national: str) -> int:
    """The type of `+country_code national`, for a national number without leading zeros."""
    kinds = kinds_for(country_code)
    if kinds is None:
        return number_type(phonenumbers.PhoneNumber(country_code, int(national)))
    return kinds.of(national)


@functools.cache
def kinds_for(country_code: int) -> Kinds | None:
    """The joined expression of a country code; None when none of its regions is known or
    their patterns have groups of their own (they would shift the alternatives' numbers)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    shared = len(regions) > 1
    parts: list[str] = []
    types: list[int] = []
    for region in regions if shared else regions[:1]:  # a lone region is taken untried
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
        if metadata is None:
            continue
        if any(re.compile(text).groups for text in _patterns(metadata)):
            return None
        text, kinds = _region(metadata, shared)
        parts.append(text)
        types.extend(kinds)
    if not types:
        return None
    return Kinds(re.compile("|".join(parts)), tuple(types))


def _region(metadata: PhoneMetadata, shared: bool) -> tuple[str, list[int]]:
    """A region's part of the expression, with a group per type in phonenumbers' order,
    and those types. Of a shared country code, a region with leading digits is the number's
    region whenever they begin it, valid or not (its last, empty group then says UNKNOWN);
    a region without is the number's only when the number is valid for it (otherwise the
    next region's part is tried)."""
    tests: list[tuple[str, int]] = []
    for kind, name in _SPECIAL:
        if (test := _desc(getattr(metadata, name))) is not None:
            tests.append((test, kind))
    fixed, mobile = _desc(metadata.fixed_line), _desc(metadata.mobile)
    both = metadata.same_mobile_and_fixed_line_pattern
    if fixed is not None and both:
        tests.append((fixed, PhoneNumberType.FIXED_LINE_OR_MOBILE))
    elif fixed is not None and mobile is not None:
        tests.append((fixed + mobile, PhoneNumberType.FIXED_LINE_OR_MOBILE))
    if fixed is not None and not both:
        tests.append((fixed, PhoneNumberType.FIXED_LINE))
    if mobile is not None and not both:
        tests.append((mobile, PhoneNumberType.MOBILE))
    general = _desc(metadata.general_desc)
    valid = "(?!)" if general is None or not tests else general + _groups(t for t, _ in tests)
    kinds = [kind for _, kind in tests] if general is not None and tests else []
    leading = metadata.leading_digits if shared else None
    if leading is None:
        return valid, kinds
    return f"(?=(?:{leading}))(?:{valid}|())", [*kinds, UNKNOWN]


def _groups(texts: Iterator[str]) -> str:
    return "(?:" + "|".join(f"({text})" for text in texts) + ")"


def _patterns(metadata: PhoneMetadata) -> Iterator[str]:
    if metadata.leading_digits:
        yield metadata.leading_digits
    for name in ("general_desc", "fixed_line", "mobile", *(name for _, name in _SPECIAL)):
        desc = getattr(metadata, name)
        if desc is not None and desc.national_number_pattern:
            yield desc.national_number_pattern


def _desc(desc: PhoneNumberDesc | None) -> str | None:
    """A zero-width test that the whole number fits `desc` (its lengths, then its pattern,
    as phonenumbers' _is_number_matching_desc), or None when nothing can."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = [n for n in desc.possible_length or () if n > 0]
    if desc.possible_length and not lengths:
        return None
    sized = f"(?=(?:{'|'.join(f'.{{{n}}}' for n in lengths)})\\Z)" if lengths else ""
    return f"{sized}(?=(?:{desc.national_number_pattern})\\Z)"
