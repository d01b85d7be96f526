"""Calendars open and close on the zone's wall clock, across DST, holidays and midnight."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.hours import Calendar, load_zone, parse_days, parse_ranges

NEW_YORK = "America/New_York"


def calendar(zone: str, weekly: Mapping[str, str], holidays: tuple[date, ...] = ()) -> Calendar:
    days = {day: parse_ranges(hours) for spec, hours in weekly.items() for day in parse_days(spec)}
    return Calendar.build("c", load_zone(zone), days, holidays)


OFFICE = calendar(NEW_YORK, {"mon-fri": "08:00-18:00", "sat": "09:00-13:00"}, (date(2026, 12, 25),))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]  # datetime's positional fields as a tuple


OPEN_CASES = [
    pytest.param(utc(2026, 11, 23, 13, 0), True, id="monday-08:00-est-opens"),
    pytest.param(utc(2026, 11, 23, 12, 59, 59), False, id="monday-07:59:59-est-closed"),
    pytest.param(utc(2026, 11, 23, 23, 0), False, id="monday-18:00-est-closes"),
    pytest.param(utc(2026, 11, 28, 17, 0), True, id="saturday-12:00-open"),
    pytest.param(utc(2026, 11, 28, 18, 0), False, id="saturday-13:00-closed"),
    pytest.param(utc(2026, 11, 29, 15, 0), False, id="sunday-closed"),
    # The same UTC hour is 07:30 before the DST change and 08:30 after it.
    pytest.param(utc(2026, 3, 6, 12, 30), False, id="friday-before-dst-07:30-est"),
    pytest.param(utc(2026, 3, 9, 12, 30), True, id="monday-after-dst-08:30-edt"),
    pytest.param(utc(2026, 10, 30, 21, 30), True, id="friday-before-fall-back-17:30-edt"),
    pytest.param(utc(2026, 11, 2, 22, 30), True, id="monday-after-fall-back-17:30-est"),
    pytest.param(utc(2026, 11, 2, 23, 0), False, id="monday-after-fall-back-18:00-est"),
    pytest.param(utc(2026, 12, 25, 15, 0), False, id="holiday-closed-all-day"),
    pytest.param(utc(2026, 12, 24, 15, 0), True, id="day-before-holiday-open"),
    # A naive time is deliberate here: the router reads it as UTC, never as local time.
    pytest.param(datetime(2026, 11, 23, 13, 0), True, id="naive-time-is-utc"),  # noqa: DTZ001  # the naive case is the one under test
]


@pytest.mark.parametrize(("at", "expected"), OPEN_CASES)
def test_is_open_follows_the_local_wall_clock(at: datetime, expected: bool) -> None:
    assert OFFICE.is_open(at) is expected


def test_a_range_past_midnight_runs_into_the_next_day() -> None:
    night = calendar("Asia/Tokyo", {"fri": "22:00-06:00"})
    tokyo = load_zone("Asia/Tokyo")
    assert night.is_open(datetime(2026, 11, 27, 23, 0, tzinfo=tokyo))  # Friday night
    assert night.is_open(datetime(2026, 11, 28, 5, 59, tzinfo=tokyo))  # Saturday morning
    assert not night.is_open(datetime(2026, 11, 28, 6, 0, tzinfo=tokyo))
    assert not night.is_open(datetime(2026, 11, 27, 3, 0, tzinfo=tokyo))  # Friday morning


def test_sunday_night_wraps_into_monday_morning() -> None:
    night = calendar("UTC", {"sun": "22:00-02:00"})
    assert night.is_open(utc(2026, 11, 23, 1, 0))  # Monday 01:00
    assert not night.is_open(utc(2026, 11, 23, 2, 0))


def test_a_holiday_closes_the_after_midnight_part_of_the_evening_before() -> None:
    night = calendar("UTC", {"thu": "22:00-06:00"}, (date(2026, 12, 25),))
    assert night.is_open(utc(2026, 12, 24, 23, 0))
    assert not night.is_open(utc(2026, 12, 25, 1, 0))


def test_in_the_repeated_hour_of_fall_back_both_instants_are_open() -> None:
    early = calendar(NEW_YORK, {"sun": "01:00-02:00"})
    assert early.is_open(utc(2026, 11, 1, 5, 30))  # 01:30 EDT
    assert early.is_open(utc(2026, 11, 1, 6, 30))  # 01:30 EST, an hour later
    assert not early.is_open(utc(2026, 11, 1, 7, 0))  # 02:00 EST


def test_all_day_hours_cover_the_whole_day() -> None:
    always = calendar("UTC", {"mon-sun": "00:00-24:00"})
    assert always.is_open(utc(2026, 11, 23, 0, 0))
    assert always.is_open(utc(2026, 11, 29, 23, 59, 59))


NEXT_CASES = [
    pytest.param(utc(2026, 11, 23, 15, 0), utc(2026, 11, 23, 15, 0), id="open-now"),
    pytest.param(utc(2026, 11, 23, 3, 0), utc(2026, 11, 23, 13, 0), id="later-today"),
    pytest.param(utc(2026, 11, 28, 19, 0), utc(2026, 11, 30, 13, 0), id="over-the-weekend"),
    pytest.param(utc(2026, 12, 25, 15, 0), utc(2026, 12, 26, 14, 0), id="after-a-holiday"),
    pytest.param(utc(2026, 3, 7, 19, 0), utc(2026, 3, 9, 12, 0), id="across-dst-start"),
]


@pytest.mark.parametrize(("at", "expected"), NEXT_CASES)
def test_next_open_is_the_first_open_instant(at: datetime, expected: datetime) -> None:
    found = OFFICE.next_open(at)
    assert found == expected
    assert found is not None
    assert OFFICE.is_open(found)


def test_next_open_in_a_spring_forward_gap_is_the_moment_clocks_jump() -> None:
    gap = calendar(NEW_YORK, {"sun": "02:30-04:00"})
    # 02:30 never happens on 8 March 2026; the clocks jump from 02:00 EST to 03:00 EDT.
    assert gap.next_open(utc(2026, 3, 8, 6, 0)) == utc(2026, 3, 8, 7, 0)


def test_next_open_after_a_holiday_starts_at_midnight_when_a_range_runs_through() -> None:
    night = calendar("UTC", {"thu": "22:00-06:00", "fri": "22:00-23:00"}, (date(2026, 12, 24),))
    # Thursday the 24th is a holiday; its range's after-midnight part opens on Friday.
    assert night.next_open(utc(2026, 12, 24, 12, 0)) == utc(2026, 12, 25, 0, 0)


def test_a_calendar_that_never_opens_has_no_next_open() -> None:
    closed = calendar("UTC", {"mon-sun": "closed"})
    assert closed.next_open(utc(2026, 11, 23)) is None


def test_the_edges_of_time_are_closed_and_do_not_raise() -> None:
    tokyo = calendar("Asia/Tokyo", {"mon-sun": "00:00-24:00"})
    assert tokyo.is_open(datetime.max.replace(tzinfo=UTC)) is False
    assert tokyo.next_open(datetime.max.replace(tzinfo=UTC)) is None


DAY_CASES = [
    pytest.param("mon-fri", (0, 1, 2, 3, 4), id="range"),
    pytest.param("sat", (5,), id="one"),
    pytest.param("mon,wed, fri", (0, 2, 4), id="list"),
    pytest.param("fri-mon", (4, 5, 6, 0), id="range-wraps"),
    pytest.param("MON", (0,), id="any-case"),
]


@pytest.mark.parametrize(("spec", "expected"), DAY_CASES)
def test_day_specs_name_weekdays(spec: str, expected: tuple[int, ...]) -> None:
    assert parse_days(spec) == expected


RANGE_CASES = [
    pytest.param("08:00-18:00", ((8 * 3600, 18 * 3600),), id="one"),
    pytest.param("08:00-12:00, 13:00-17:00", ((28800, 43200), (46800, 61200)), id="two"),
    pytest.param(["08:00-12:00", "13:00-17:00"], ((28800, 43200), (46800, 61200)), id="list"),
    pytest.param("22:00-06:00", ((79200, 86400 + 21600),), id="overnight"),
    pytest.param("00:00-24:00", ((0, 86400),), id="all-day"),
    pytest.param("closed", (), id="closed"),
]


@pytest.mark.parametrize(("spec", "expected"), RANGE_CASES)
def test_hour_specs_become_second_ranges(
    spec: str | list[str], expected: tuple[tuple[int, int], ...]
) -> None:
    assert parse_ranges(spec) == expected


@pytest.mark.parametrize("spec", ["8-18", "08:00", "24:00-01:00", "08:60-09:00", "25:00-26:00"])
def test_malformed_hours_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"not a (time|range)|cannot start at 24:00"):
        parse_ranges(spec)


@given(st.datetimes(timezones=st.timezones()))
def test_is_open_and_next_open_never_raise_and_agree(at: datetime) -> None:
    OFFICE.is_open(at)
    found = OFFICE.next_open(at)
    if found is not None:
        assert found >= at
        assert OFFICE.is_open(found)
        assert found - at <= timedelta(days=21)
