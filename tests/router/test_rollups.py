"""The rollups' pure parts (router/rollups.py): the cells a window reads add up to exactly
its hours, and percentiles from bins are the nearest rank's when each bin holds one value."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.periods import UTC_CELLS, Calendar
from core.tally import AGENT_BINS, bin_of, bin_start, binned, wide_bin_of
from router.reports import spread
from router.rollups import DAY, HOUR, cost, cover, spans, spread_of

BASE = datetime(2025, 11, 3, tzinfo=UTC).timestamp()
hours = st.integers(0, 24 * 500)


CALENDARS = [
    UTC_CELLS,
    Calendar.of("America/New_York"),
    Calendar.of("Europe/Berlin"),
    Calendar.of("America/Havana"),  # its clocks change at midnight: some days start at 1:00
    Calendar.of("Pacific/Kiritimati"),  # UTC+14, and it skipped a whole day in 1994
]


def _hours(level: str, at: float, calendar: Calendar) -> list[float]:
    if level == "h":
        return [at]
    after = calendar.next_day(at) if level == "d" else calendar.next_month(at)
    return [at + HOUR * n for n in range(int((after - at) // HOUR))]


@given(hours, hours, st.sampled_from(CALENDARS))
def test_the_cells_of_a_window_add_up_to_its_hours(
    first: int, second: int, calendar: Calendar
) -> None:
    start, end = BASE + HOUR * min(first, second), BASE + HOUR * (max(first, second) + 1)
    counted: Counter[float] = Counter()
    for level, at, sign in cover(start, end, calendar):
        for hour in _hours(level, at, calendar):
            counted[hour] += sign
    wanted = Counter({start + HOUR * n: 1 for n in range(int((end - start) // HOUR))})
    assert +counted == wanted
    assert -counted == Counter()
    cut = cover(start, end, calendar)
    assert cost(cut) <= cost([(level, at, 1) for level, at in spans(start, end, calendar)])


@given(st.integers(0, 24 * 3000), st.sampled_from(CALENDARS[1:]))
def test_a_day_of_the_calendar_is_one_cell(hour: int, calendar: Calendar) -> None:
    day = calendar.day_of(BASE + HOUR * hour)
    assert cover(day, calendar.next_day(day), calendar) == [("d", day, 1)]


def test_a_zone_whose_days_start_off_the_hour_is_refused() -> None:
    for zone in ("Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "Nowhere/Atlantis"):
        with pytest.raises(ValueError, match=zone):
            Calendar.of(zone)


def test_a_day_off_utc_is_one_day_cell_and_its_edge_hours() -> None:
    day = BASE + 10 * DAY
    assert len(cover(day + 5 * HOUR, day + DAY + 5 * HOUR)) == 11
    assert [level for level, _ in spans(BASE, BASE + 400 * DAY)].count("m") >= 12


def test_a_year_from_the_third_is_twelve_months_less_two_days() -> None:
    start = datetime(2025, 12, 3, 6, tzinfo=UTC).timestamp()
    end = datetime(2026, 12, 3, 7, tzinfo=UTC).timestamp()
    levels = Counter((level, sign) for level, _, sign in cover(start, end))
    assert levels[("m", 1)] == 12
    assert levels[("d", -1)] == 2
    assert levels[("d", 1)] == 2


@given(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=60, unique=True))
def test_one_value_a_bin_gives_the_exact_nearest_rank(values: list[float]) -> None:
    if len({bin_of(v) for v in values}) < len(values):
        return  # two values share a bin: the figure is then within that bin
    bins = {bin_of(v): (1, v) for v in values}
    exact, binned = spread(values), spread_of(bins)
    assert (binned.count, binned.p50, binned.p90) == (exact.count, exact.p50, exact.p90)
    assert binned.mean is not None
    assert exact.mean is not None
    assert abs(binned.mean - exact.mean) <= 0.001


edges = st.integers(0, 600).map(lambda at: bin_start(at, 1))
durations = st.lists(st.floats(0, 1e7, allow_nan=False) | edges, max_size=200)


@given(durations, st.sampled_from([1, AGENT_BINS]))
def test_values_binned_together_fall_where_each_alone_would(
    values: list[float], width: int
) -> None:
    one_by_one: dict[int, tuple[int, float]] = {}
    for value in values:
        n, total = one_by_one.get(wide_bin_of(value, width), (0, 0.0))
        one_by_one[wide_bin_of(value, width)] = (n + 1, total + value)
    together = binned(values, width)
    assert [at for at, _ in together] == sorted(one_by_one)
    for at, (n, total) in together:
        assert n == one_by_one[at][0]
        assert abs(total - one_by_one[at][1]) <= 1e-6 * max(1.0, total)


def test_an_agents_bin_is_four_fine_bins() -> None:
    assert [wide_bin_of(bin_start(fine, 1), AGENT_BINS) for fine in range(10)] == [
        0, 1, 1, 1, 1, 2, 2, 2, 2, 3
    ]  # fmt: skip
    assert bin_start(2, AGENT_BINS) == bin_start(5, 1)


@given(st.integers(-2 * 10**9, 5 * 10**9), st.sampled_from([0.0, 0.25, 0.999]))
def test_a_tickets_cells_are_the_utc_hour_day_and_month_it_was_made_in(
    second: int, fraction: float
) -> None:
    created = second + fraction
    moment = datetime.fromtimestamp(second, UTC)
    hour = moment.replace(minute=0, second=0, microsecond=0)
    month = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    expected = (
        ("h", hour.timestamp()),
        ("d", hour.replace(hour=0).timestamp()),
        ("m", month.timestamp()),
    )
    assert UTC_CELLS.periods(created) == expected


@given(st.integers(631152000, 4 * 10**9), st.sampled_from(CALENDARS[1:]))  # from 1990
def test_a_tickets_day_and_month_are_those_of_the_calendars_zone(
    second: int, calendar: Calendar
) -> None:
    (_, hour), (_, day), (_, month) = calendar.periods(second + 0.5)
    zone = ZoneInfo(calendar.zone)
    local = datetime.fromtimestamp(second, zone)
    assert hour == second // 3600 * 3600
    assert day <= hour < calendar.next_day(day)
    assert month <= day < calendar.next_month(month)
    assert datetime.fromtimestamp(day, zone).date() == local.date()
    assert datetime.fromtimestamp(month, zone).date() == local.date().replace(day=1)
    assert day % 3600 == 0
    assert month % 3600 == 0
