"""Business time, golden cases: a target added to an instant, and the open time between two
instants, across weekends, holidays, DST both ways (New York, Berlin, London, Sydney), ranges
past midnight, split days and zones other than the ticket's. Each case was worked by hand;
a brute-force minute walk over `Calendar.is_open` checks the same arithmetic independently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.duration import parse_duration
from router.sla import add_business, business_time
from tests.router.sla_helpers import CALENDARS, moment

ZONES = {
    "ny": "America/New_York",
    "berlin": "Europe/Berlin",
    "nights": "America/New_York",
    "allday": "Europe/Berlin",
    "sydney": "Australia/Sydney",
    "split": "Asia/Tokyo",
    "london_nights": "Europe/London",
    "none": "UTC",
}

# (calendar, start, target, due): times on the calendar's clocks, or UTC with a Z.
DUE = [
    ("ny", "2026-11-23 02:47", "4h", "2026-11-23 13:00", "night-contact-due-in-hours"),
    ("ny", "2026-11-23 09:00", "8h", "2026-11-23 17:00", "a-whole-day-ends-at-closing"),
    ("ny", "2026-11-23 16:00", "2h", "2026-11-24 10:00", "carries-to-the-next-morning"),
    ("ny", "2026-11-23 17:00", "1m", "2026-11-24 09:01", "from-closing-time"),
    ("ny", "2026-11-20 16:30", "1h", "2026-11-23 09:30", "friday-over-the-weekend"),
    ("ny", "2026-11-21 12:00", "1h", "2026-11-23 10:00", "from-a-saturday"),
    ("ny", "2026-11-25 16:00", "2h", "2026-11-27 10:00", "over-thanksgiving"),
    ("ny", "2026-11-25 16:00", "9h", "2026-11-27 17:00", "over-a-holiday-to-closing"),
    ("ny", "2026-11-25 16:00", "9h1m", "2026-11-30 09:01", "over-a-holiday-and-a-weekend"),
    ("ny", "2026-12-24 15:00", "4h", "2026-12-28 11:00", "over-christmas-friday"),
    ("ny", "2026-11-26 10:00", "1h", "2026-11-27 10:00", "from-inside-a-holiday"),
    ("ny", "2026-03-06 16:00", "2h", "2026-03-09 10:00", "over-us-spring-forward"),
    ("ny", "2026-10-30 16:00", "2h", "2026-11-02 10:00", "over-us-fall-back"),
    ("ny", "2026-03-09 09:00", "40h", "2026-03-13 17:00", "a-working-week"),
    ("ny", "2026-11-23 12:00", "0", "2026-11-23 12:00", "nothing-to-add-when-open"),
    ("ny", "2026-11-22 23:59", "0", "2026-11-23 09:00", "nothing-to-add-waits-for-opening"),
    ("ny", "2026-11-23 12:00", "1w", "2026-12-23 12:00", "a-week-of-business-hours"),
    ("ny", "2026-11-23 14:47Z", "1h", "2026-11-23 10:47", "start-given-in-utc"),
    ("berlin", "2026-03-27 17:00", "3h", "2026-03-28 11:00", "into-saturday-hours"),
    ("berlin", "2026-03-28 12:00", "2h", "2026-03-30 09:00", "over-eu-spring-forward"),
    ("berlin", "2026-10-24 12:30", "1h", "2026-10-26 08:30", "over-eu-fall-back"),
    ("berlin", "2026-12-23 17:00", "2h", "2026-12-28 09:00", "over-three-holidays"),
    ("berlin", "2026-12-23 17:00", "11h", "2026-12-28 18:00", "over-holidays-to-closing"),
    ("berlin", "2026-11-28 13:00", "1m", "2026-11-30 08:01", "from-saturday-closing"),
    ("berlin", "2026-11-23 14:00Z", "3h", "2026-11-23 18:00", "utc-start-in-another-zone"),
    ("nights", "2026-11-23 12:00", "1h", "2026-11-23 23:00", "waits-for-the-night"),
    ("nights", "2026-11-23 23:00", "2h", "2026-11-24 01:00", "past-midnight"),
    ("nights", "2026-11-24 05:00", "2h", "2026-11-24 23:00", "to-the-next-night"),
    ("nights", "2026-10-31 22:00", "8h", "2026-11-01 10:00Z", "fall-back-night-has-nine-hours"),
    ("nights", "2026-10-31 22:00", "9h", "2026-11-01 06:00", "fall-back-night-ends-at-six"),
    ("nights", "2026-03-07 22:00", "8h", "2026-03-08 23:00", "spring-night-has-seven-hours"),
    ("nights", "2026-03-07 22:00", "7h", "2026-03-08 06:00", "spring-night-ends-at-six"),
    ("nights", "2026-03-08 01:30", "1h", "2026-03-08 03:30", "over-the-spring-gap"),
    ("allday", "2026-03-28 12:00", "24h", "2026-03-29 13:00", "eu-spring-day-is-23h"),
    ("allday", "2026-10-24 12:00", "24h", "2026-10-25 11:00", "eu-fall-day-is-25h"),
    ("allday", "2026-06-01 10:00", "2d", "2026-06-03 10:00", "always-open-summer"),
    ("allday", "2026-03-29 01:30", "1h", "2026-03-29 03:30", "an-hour-over-the-gap"),
    ("sydney", "2026-04-03 16:00", "2h", "2026-04-06 00:00Z", "over-sydney-dst-end"),
    ("sydney", "2026-10-02 16:00", "2h", "2026-10-04 23:00Z", "over-sydney-dst-start"),
    ("sydney", "2026-11-23 03:00Z", "4h", "2026-11-24 10:00", "utc-start-in-sydney"),
    ("sydney", "2026-11-20 16:00", "2h", "2026-11-23 10:00", "sydney-weekend"),
    ("split", "2026-11-23 11:00", "2h", "2026-11-23 14:00", "over-lunch"),
    ("split", "2026-11-23 12:30", "1h", "2026-11-23 14:00", "from-lunch"),
    ("split", "2026-11-23 17:00", "3h", "2026-11-24 11:00", "split-day-overnight"),
    ("split", "2026-11-23 00:00Z", "8h", "2026-11-23 18:00", "a-whole-split-day-from-utc"),
    ("split", "2026-11-23 12:00", "3h", "2026-11-23 16:00", "lunch-start-is-closed"),
    ("london_nights", "2026-12-25 21:00", "4h", "2027-01-01 21:00", "holiday-takes-the-morning"),
    ("london_nights", "2026-11-27 23:00", "2h", "2026-11-28 01:00", "friday-night-past-midnight"),
    ("london_nights", "2026-10-23 20:00", "8h", "2026-10-24 04:00", "whole-friday-night"),
    ("london_nights", "2026-10-24 04:00", "1h", "2026-10-30 21:00", "a-week-to-the-next-night"),
    ("london_nights", "2026-03-27 20:00", "9h", "2026-04-03 21:00", "over-uk-spring-forward"),
    ("none", "2026-11-23 02:47Z", "4h", "2026-11-23 06:47Z", "no-calendar-is-wall-clock"),
    ("none", "2026-03-08 06:00Z", "1d", "2026-03-09 06:00Z", "no-calendar-ignores-dst"),
]

# (calendar, start, end, open time between them)
BETWEEN = [
    ("ny", "2026-11-23 08:00", "2026-11-23 18:00", "8h", "one-day"),
    ("ny", "2026-11-20 16:00", "2026-11-23 10:00", "2h", "over-a-weekend"),
    ("ny", "2026-11-25 00:00", "2026-11-27 00:00", "8h", "a-holiday-counts-nothing"),
    ("ny", "2026-03-06 12:00", "2026-03-09 12:00", "8h", "over-us-spring-forward"),
    ("ny", "2026-11-23 12:00", "2026-11-23 11:00", "0", "end-before-start"),
    ("ny", "2026-12-21 09:00", "2026-12-28 09:00", "32h", "christmas-week"),
    ("ny", "2026-11-23 12:00", "2026-11-23 12:00", "0", "an-instant"),
    ("berlin", "2026-03-23 00:00", "2026-03-30 00:00", "54h", "week-with-saturday"),
    ("berlin", "2026-12-21 00:00", "2026-12-28 00:00", "30h", "christmas-week-berlin"),
    ("berlin", "2026-10-24 10:00", "2026-10-26 09:00", "4h", "over-eu-fall-back"),
    ("nights", "2026-10-31 20:00", "2026-11-01 08:00", "9h", "fall-back-night"),
    ("nights", "2026-03-07 20:00", "2026-03-08 08:00", "7h", "spring-night"),
    ("nights", "2026-11-23 20:00", "2026-11-24 08:00", "8h", "ordinary-night"),
    ("nights", "2026-11-24 05:00", "2026-11-24 23:00", "2h", "morning-and-evening"),
    ("allday", "2026-03-29 00:00", "2026-03-30 00:00", "23h", "eu-spring-day"),
    ("allday", "2026-10-25 00:00", "2026-10-26 00:00", "25h", "eu-fall-day"),
    ("sydney", "2026-04-03 00:00", "2026-04-07 00:00", "16h", "sydney-dst-end-weekend"),
    ("split", "2026-11-23 09:00", "2026-11-23 18:00", "8h", "split-day"),
    ("split", "2026-11-23 11:30", "2026-11-23 13:30", "1h", "around-lunch"),
    ("london_nights", "2026-03-27 20:00", "2026-03-28 04:00", "8h", "uk-friday-night"),
    ("london_nights", "2026-12-25 18:00", "2026-12-26 12:00", "4h", "holiday-morning-closed"),
    ("none", "2026-11-23 00:00Z", "2026-11-24 00:00Z", "1d", "wall-clock-day"),
]


def _calendar(name: str) -> object:
    return None if name == "none" else CALENDARS[name]


@pytest.mark.parametrize(
    ("name", "start", "target", "due"), [pytest.param(*case[:4], id=case[4]) for case in DUE]
)
def test_a_target_is_due_after_that_much_open_time(
    name: str, start: str, target: str, due: str
) -> None:
    calendar = None if name == "none" else CALENDARS[name]
    begin = moment(start, ZONES[name])
    found = add_business(calendar, begin, parse_duration(target))
    assert found == moment(due, ZONES[name])
    if found is not None and target != "0":
        assert business_time(calendar, begin, found) == parse_duration(target)


@pytest.mark.parametrize(
    ("name", "start", "end", "amount"), [pytest.param(*case[:4], id=case[4]) for case in BETWEEN]
)
def test_the_open_time_between_two_instants(name: str, start: str, end: str, amount: str) -> None:
    calendar = None if name == "none" else CALENDARS[name]
    zone = ZONES[name]
    assert business_time(calendar, moment(start, zone), moment(end, zone)) == parse_duration(amount)


def test_a_calendar_never_open_has_no_due_time() -> None:
    closed = CALENDARS["ny"].__class__.build("closed", CALENDARS["ny"].zone, {})
    start = moment("2026-11-23 09:00")
    assert add_business(closed, start, timedelta(hours=1)) is None
    assert business_time(closed, start, start + timedelta(days=30)) == timedelta(0)


NAMED = sorted(CALENDARS)
STARTS = st.datetimes(
    min_value=moment("2026-01-01 00:00Z").replace(tzinfo=None),
    max_value=moment("2027-01-01 00:00Z").replace(tzinfo=None),
).map(lambda at: at.replace(second=0, microsecond=0, tzinfo=moment("2026-01-01 00:00Z").tzinfo))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NAMED), STARTS, st.integers(min_value=1, max_value=36 * 60))
def test_business_time_agrees_with_a_minute_by_minute_walk(
    name: str, start: object, minutes: int
) -> None:
    """Stepping a minute at a time and asking `is_open` finds the same due time."""
    calendar = CALENDARS[name]
    assert isinstance(start, type(moment("2026-01-01 00:00Z")))
    due = add_business(calendar, start, timedelta(minutes=minutes))
    assert due is not None
    at, left = start, minutes
    while left:
        if calendar.is_open(at):
            left -= 1
        at += timedelta(minutes=1)
    # The walk lands a minute after the last open minute; the arithmetic at its end.
    assert due <= at
    assert due > at - timedelta(minutes=1)
