"""Calling hours as law: whatever a campaign asks, nobody is called outside 08:00-21:00 on
their own clock (or the stricter hours of their zone), across zones and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.campaigns import CampaignPolicy
from router.calling_law import LEGAL, CallingLaw
from router.campaigns import CallingHours, parse_slot, slot_key

NY, PARIS = "America/New_York", "Europe/Paris"
# DST north and south, half-hour offsets and a half-hour DST shift (Lord Howe).
ZONES = [NY, "America/Los_Angeles", "Europe/London", PARIS, "Australia/Sydney",
         "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham",
         "America/Sao_Paulo", "Pacific/Honolulu"]  # fmt: skip
PARIS_LAW = CallingLaw.of("08:00-21:00", {PARIS: "10:00-20:00"}, unrestricted=False)

instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001  # hypothesis attaches the zone
    max_value=datetime(2031, 12, 31),  # noqa: DTZ001  # hypothesis attaches the zone
    timezones=st.just(UTC),
)
# A campaign may ask for anything a day holds, all day included.
clocks = st.integers(0, 23).map(lambda h: f"{h:02d}:00")
windows = st.one_of(
    st.just("00:00-24:00"),
    st.tuples(clocks, st.integers(1, 24))
    .map(lambda p: f"{p[0]}-{min(int(p[0][:2]) + p[1], 24):02d}:00")
    .filter(lambda w: w[:5] != w[6:]),
)
slots = st.lists(st.sampled_from(ZONES), min_size=1, max_size=3).map(slot_key)


def wall_seconds(zone: str, at: datetime) -> int:
    wall = at.astimezone(ZoneInfo(zone))
    return wall.hour * 3600 + wall.minute * 60 + wall.second


def lawful(zone: str, at: datetime, law: CallingLaw = LEGAL) -> bool:
    start, end = (8, 21) if zone != PARIS or law is LEGAL else (10, 20)
    return start * 3600 <= wall_seconds(zone, at) < end * 3600


@given(at=instants, slot=slots, window=windows, law=st.sampled_from([LEGAL, PARIS_LAW]))
def test_nobody_is_called_outside_the_legal_hours_whatever_the_window(
    at: datetime, slot: str, window: str, law: CallingLaw
) -> None:
    hours = CallingHours(CampaignPolicy(hours=window), law)
    if hours.is_callable(slot, at):
        assert all(lawful(zone, at, law) for zone in parse_slot(slot)[0])
    found = hours.next_callable(slot, at)
    if found is not None:
        assert found >= at
        assert all(lawful(zone, found, law) for zone in parse_slot(slot)[0])


@given(at=instants, zone=st.sampled_from(ZONES))
def test_an_all_day_window_calls_exactly_the_legal_hours(at: datetime, zone: str) -> None:
    hours = CallingHours(CampaignPolicy(hours="00:00-24:00"))
    assert hours.is_callable(zone, at) is lawful(zone, at)


@given(at=instants, zone=st.sampled_from(ZONES))
def test_only_the_operators_switch_lifts_the_law(at: datetime, zone: str) -> None:
    unrestricted = CallingHours(CampaignPolicy(hours="00:00-24:00"), CallingLaw(unrestricted=True))
    assert unrestricted.is_callable(zone, at)


def test_the_night_of_the_issue_is_not_callable() -> None:
    """hours 00:00-24:00 once handed out a number at 02:50 the callee's time."""
    hours = CallingHours(CampaignPolicy(hours="00:00-24:00"))
    night = datetime(2026, 11, 23, 2, 50, tzinfo=ZoneInfo(NY))
    assert not hours.is_callable(NY, night)
    assert hours.next_callable(NY, night) == datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo(NY))


DST = [
    # New York springs forward on 2026-03-08: 12:30 UTC is 07:30 before, 08:30 after.
    pytest.param(NY, datetime(2026, 3, 6, 12, 30, tzinfo=UTC), False, id="ny-est-07:30"),
    pytest.param(NY, datetime(2026, 3, 9, 12, 30, tzinfo=UTC), True, id="ny-edt-08:30"),
    # Sydney falls back on 2026-04-05: 21:30 UTC is 08:30 before, 07:30 after.
    pytest.param(
        "Australia/Sydney", datetime(2026, 4, 3, 21, 30, tzinfo=UTC), True, id="sydney-aedt-08:30"
    ),
    pytest.param(
        "Australia/Sydney", datetime(2026, 4, 6, 21, 30, tzinfo=UTC), False, id="sydney-aest-07:30"
    ),
]


@pytest.mark.parametrize(("zone", "at", "expected"), DST)
def test_the_law_follows_the_callees_clock_across_dst(
    zone: str, at: datetime, expected: bool
) -> None:
    assert CallingHours(CampaignPolicy(hours="00:00-24:00")).is_callable(zone, at) is expected


def test_a_stricter_zone_and_a_narrower_campaign_both_narrow() -> None:
    paris = CallingHours(CampaignPolicy(hours="00:00-24:00"), PARIS_LAW)
    at = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo(PARIS))
    assert not paris.is_callable(PARIS, at)
    assert paris.next_callable(PARIS, at) == at.replace(hour=10, minute=0)
    narrow = CallingHours(CampaignPolicy(hours="12:00-13:00"), PARIS_LAW)
    assert narrow.next_callable(PARIS, at) == at.replace(hour=12, minute=0)
    outside = CallingHours(CampaignPolicy(hours="06:00-08:00"))
    assert outside.next_callable(NY, at) is None  # the window lies wholly outside the law


def test_law_problems_name_where_they_are() -> None:
    law = CallingLaw.of("21:00-08:00", {PARIS: "nope"}, unrestricted=False)
    assert [p.split(":")[0] for p in law.problems()] == ["legal_hours", PARIS]
    assert LEGAL.problems() == []
