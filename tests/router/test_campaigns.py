"""Calling windows on the callee's wall clock (DST, several zones, unknown zones, holidays)
and the retry schedule after each outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.campaigns import (
    APPOINTMENT_RANK,
    RETRYABLE,
    CallOutcome,
    CampaignContact,
    CampaignPolicy,
    ContactState,
)
from router.calling_law import LEGAL, CallingLaw
from router.campaigns import (
    CallingHours,
    after_outcome,
    check_policy,
    is_ended,
    parse_slot,
    slot_key,
)

NY, CHI, LA = "America/New_York", "America/Chicago", "America/Los_Angeles"
DEFAULT = CallingHours(CampaignPolicy())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]  # datetime's positional fields as a tuple


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[arg-type, misc]  # datetime's positional fields as a tuple


def contact(slot: str = NY, attempts: int = 0, priority: int = 1) -> CampaignContact:
    return CampaignContact(
        id=1, campaign_id=1, phone="+12125550100", slot=slot, state=ContactState.LEASED,
        priority=priority, rank=priority, attempts=attempts, next_at=utc(2026, 1, 1),
        created_at=utc(2026, 1, 1), updated_at=utc(2026, 1, 1),
    )  # fmt: skip


CALLABLE = [
    pytest.param(NY, local(NY, 2026, 11, 23, 7, 59, 59), False, id="07:59:59-before-the-window"),
    pytest.param(NY, local(NY, 2026, 11, 23, 8, 0), True, id="08:00-opens"),
    pytest.param(NY, local(NY, 2026, 11, 23, 20, 59, 59), True, id="20:59:59-still-open"),
    pytest.param(NY, local(NY, 2026, 11, 23, 21, 0), False, id="21:00-closes"),
    # The same UTC instant is 07:30 before the spring-forward change and 08:30 after it.
    pytest.param(NY, utc(2026, 3, 6, 12, 30), False, id="before-dst-07:30-est"),
    pytest.param(NY, utc(2026, 3, 9, 12, 30), True, id="after-dst-08:30-edt"),
    pytest.param(LA, utc(2026, 11, 23, 15, 30), False, id="los-angeles-07:30"),
    pytest.param(f"{CHI},{NY}", local(NY, 2026, 11, 23, 8, 30), False, id="chicago-still-07:30"),
    pytest.param(f"{CHI},{NY}", local(NY, 2026, 11, 23, 9, 0), True, id="both-open"),
    pytest.param(f"{CHI},{NY}", local(NY, 2026, 11, 23, 21, 30), False, id="new-york-closed"),
    pytest.param("", local(NY, 2026, 11, 23, 12, 0), False, id="unknown-zone-never"),
    pytest.param(f"{NY}|14:00-17:00", local(NY, 2026, 11, 23, 13, 0), False, id="before-pref"),
    pytest.param(f"{NY}|14:00-17:00", local(NY, 2026, 11, 23, 14, 0), True, id="preferred"),
]


@pytest.mark.parametrize(("slot", "at", "expected"), CALLABLE)
def test_callable_follows_the_callees_wall_clock(slot: str, at: datetime, expected: bool) -> None:
    assert DEFAULT.is_callable(slot, at) is expected


def test_an_unknown_zone_is_called_under_the_campaigns_own_zone() -> None:
    hours = CallingHours(CampaignPolicy(timezone="Europe/Paris"))
    assert hours.is_callable("", local("Europe/Paris", 2026, 11, 23, 8, 0))
    assert not hours.is_callable("", local("Europe/Paris", 2026, 11, 23, 7, 59))
    assert hours.next_callable("", local("Europe/Paris", 2026, 11, 23, 22, 0)) == local(
        "Europe/Paris", 2026, 11, 24, 8, 0
    )


NEXT = [
    pytest.param(NY, local(NY, 2026, 11, 23, 6, 0), local(NY, 2026, 11, 23, 8, 0), id="morning"),
    pytest.param(NY, local(NY, 2026, 11, 23, 12, 0), local(NY, 2026, 11, 23, 12, 0), id="now"),
    pytest.param(NY, local(NY, 2026, 11, 23, 21, 0), local(NY, 2026, 11, 24, 8, 0), id="night"),
    pytest.param(
        f"{CHI},{NY}",
        local(NY, 2026, 11, 23, 7, 0),
        local(NY, 2026, 11, 23, 9, 0),
        id="overlap-opens-with-chicago",
    ),
    pytest.param(NY, utc(2026, 3, 8, 10, 0), local(NY, 2026, 3, 8, 8, 0), id="dst-day-edt"),
    pytest.param(f"{NY}|21:00-23:00", local(NY, 2026, 11, 23, 6, 0), None, id="pref-outside"),
]


@pytest.mark.parametrize(("slot", "at", "expected"), NEXT)
def test_next_callable(slot: str, at: datetime, expected: datetime | None) -> None:
    assert DEFAULT.next_callable(slot, at) == expected


def test_days_of_week_and_holidays_are_the_callees() -> None:
    policy = CampaignPolicy(days="mon-fri", holidays=(date(2026, 12, 25),))
    hours = CallingHours(policy)
    saturday = local(NY, 2026, 11, 28, 12, 0)
    assert not hours.is_callable(NY, saturday)
    assert hours.next_callable(NY, saturday) == local(NY, 2026, 11, 30, 8, 0)
    christmas_eve_night = local(NY, 2026, 12, 24, 22, 0)
    assert hours.next_callable(NY, christmas_eve_night) == local(NY, 2026, 12, 28, 8, 0)


def test_zones_whose_windows_never_overlap_are_never_callable() -> None:
    hours = CallingHours(CampaignPolicy(hours="09:00-17:00"))
    slot = slot_key(["America/New_York", "Asia/Kolkata"])
    assert hours.next_callable(slot, utc(2026, 11, 23)) is None
    assert hours.next_opening([slot, LA], utc(2026, 11, 23, 12)) == local(LA, 2026, 11, 23, 9, 0)


def test_slots_name_their_zones_sorted_without_the_unknown_zone() -> None:
    assert slot_key([NY, CHI, NY]) == f"{CHI},{NY}"
    assert slot_key(["Etc/Unknown"]) == ""
    assert slot_key([NY], "14:00-17:00") == f"{NY}|14:00-17:00"
    assert parse_slot(f"{CHI},{NY}|14:00-17:00") == ((CHI, NY), "14:00-17:00")
    assert parse_slot("") == ((), "")
    assert DEFAULT.open_slots([NY, LA, ""], local(NY, 2026, 11, 23, 9, 0)) == [NY]
    assert DEFAULT.local_time(LA, utc(2026, 11, 23, 20)) == local(LA, 2026, 11, 23, 12, 0)
    assert DEFAULT.local_time("", utc(2026, 11, 23, 20)) is None


def test_policy_problems_are_named_each_with_its_field() -> None:
    bad = CampaignPolicy(
        hours="20:00-07:00", days="mon-fry", timezone="Mars/Olympus", max_attempts=0,
        retry=((CallOutcome.ANSWERED, timedelta(hours=1)), (CallOutcome.BUSY, timedelta(0))),
        lease=timedelta(seconds=1),
    )  # fmt: skip
    problems = check_policy(bad)
    assert [p.split(":")[0].split(".")[0] for p in problems] == [
        "hours", "days", "timezone", "max_attempts", "retry", "retry", "lease",
    ]  # fmt: skip
    assert check_policy(CampaignPolicy()) == []


# Time zones with and without DST, both hemispheres, half-hour offsets.
ZONES = [NY, CHI, LA, "Europe/London", "Australia/Sydney", "Asia/Kolkata", "Pacific/Honolulu",
         "America/Sao_Paulo", "Australia/Lord_Howe", "America/St_Johns"]  # fmt: skip
# hypothesis takes naive bounds and attaches the zone itself.
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001  # naive, as said above
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001  # naive, as said above
    timezones=st.just(UTC),
)
windows = st.sampled_from(["08:00-21:00", "09:00-17:00", "00:00-24:00", "08:00-12:00,13:00-21:00"])
slots = st.lists(st.sampled_from(ZONES), min_size=1, max_size=3).map(slot_key)


def _open_in(zone: str, hours: str, at: datetime) -> bool:
    """An oracle written apart from the calendars: the wall clock, read plainly."""
    wall = at.astimezone(ZoneInfo(zone))
    seconds = wall.hour * 3600 + wall.minute * 60 + wall.second
    for part in hours.split(","):
        start, end = (time.fromisoformat(p) if p != "24:00" else None for p in part.split("-"))
        low = start.hour * 3600 + start.minute * 60 if start else 86400
        high = end.hour * 3600 + end.minute * 60 if end else 86400
        if low <= seconds < high:
            return True
    return False


def _lawful_in(zone: str, law: CallingLaw, at: datetime) -> bool:
    return law.unrestricted or _open_in(zone, dict(law.by_zone).get(zone, law.hours), at)


# The default law, no law, and a stricter law in two zones (one south of the equator).
laws = st.sampled_from([
    LEGAL,
    CallingLaw(unrestricted=True),
    CallingLaw.of("08:00-21:00", {"Europe/London": "09:00-20:00",
                                  "Australia/Sydney": "09:00-12:00,13:00-20:00"},
                  unrestricted=False),
])  # fmt: skip


@given(at=instants, slot=slots, hours=windows, law=laws)
def test_callable_exactly_when_every_zone_is_inside_the_window_and_the_law(
    at: datetime, slot: str, hours: str, law: CallingLaw
) -> None:
    zones = parse_slot(slot)[0]
    expected = all(_open_in(z, hours, at) and _lawful_in(z, law, at) for z in zones)
    assert CallingHours(CampaignPolicy(hours=hours), law).is_callable(slot, at) is expected


@given(at=instants, slot=slots, hours=windows, law=laws)
def test_next_callable_is_the_first_callable_instant(
    at: datetime, slot: str, hours: str, law: CallingLaw
) -> None:
    calling = CallingHours(CampaignPolicy(hours=hours), law)
    found = calling.next_callable(slot, at)
    if found is None:  # then nothing in the coming week is callable either
        grid = (at + timedelta(minutes=30 * i) for i in range(7 * 48))
        assert not any(calling.is_callable(slot, moment) for moment in grid)
        return
    assert found >= at
    assert calling.is_callable(slot, found)
    if found - at >= timedelta(seconds=1):
        assert not calling.is_callable(slot, found - timedelta(seconds=1))
    step = timedelta(minutes=20)
    moment = at
    while moment < found:
        assert not calling.is_callable(slot, moment)
        moment += step


@given(now=instants, outcome=st.sampled_from(sorted(RETRYABLE)), zone=st.sampled_from(ZONES))
def test_a_retry_waits_its_delay_in_real_time_whatever_the_clocks_do(
    now: datetime, outcome: CallOutcome, zone: str
) -> None:
    calling = CallingHours(CampaignPolicy())
    change = after_outcome(calling, contact(zone, attempts=1), outcome, now)
    assert change.state is ContactState.QUEUED
    assert change.next_at - now == CampaignPolicy().delay(outcome)
    assert change.rank == 1


def test_the_last_allowed_attempt_exhausts_the_contact() -> None:
    calling = CallingHours(CampaignPolicy(max_attempts=3))
    now = utc(2026, 11, 23, 15)
    assert after_outcome(calling, contact(attempts=1), CallOutcome.BUSY, now).state is (
        ContactState.QUEUED
    )
    exhausted = after_outcome(calling, contact(attempts=2), CallOutcome.BUSY, now)
    assert exhausted.state is ContactState.EXHAUSTED


def test_a_retry_that_would_fall_after_the_end_expires_the_contact() -> None:
    now = local(NY, 2026, 11, 23, 20, 0)
    ends = local(NY, 2026, 11, 24, 7, 0)  # the next window opens after the end
    calling = CallingHours(CampaignPolicy(ends_at=ends))
    assert after_outcome(calling, contact(), CallOutcome.NO_ANSWER, now).state is (
        ContactState.EXPIRED
    )
    never = after_outcome(calling, contact(""), CallOutcome.NO_ANSWER, now)
    assert never.state is ContactState.EXPIRED
    assert not is_ended(calling.policy, now)
    assert is_ended(calling.policy, ends)


FINALS = [
    pytest.param(CallOutcome.ANSWERED, ContactState.COMPLETED, None, id="answered"),
    pytest.param(CallOutcome.RESOLVED, ContactState.COMPLETED, None, id="resolved"),
    pytest.param(CallOutcome.WRONG_NUMBER, ContactState.INVALID, None, id="wrong-number"),
    pytest.param(CallOutcome.DO_NOT_CALL, ContactState.SUPPRESSED, "agent:ann", id="dnc"),
]


@pytest.mark.parametrize(("outcome", "state", "dnc"), FINALS)
def test_final_outcomes(outcome: CallOutcome, state: ContactState, dnc: str | None) -> None:
    change = after_outcome(DEFAULT, contact(), outcome, utc(2026, 11, 23), agent="ann")
    assert (change.state, change.do_not_call) == (state, dnc)


def test_a_callback_time_is_an_appointment_at_the_top_rank() -> None:
    now, at = utc(2026, 11, 23, 15), utc(2026, 11, 24, 19)
    change = after_outcome(DEFAULT, contact(), CallOutcome.CALLBACK, now, at)
    assert (change.state, change.next_at, change.rank) == (
        ContactState.QUEUED,
        at,
        APPOINTMENT_RANK,
    )
    assert change.callback_at == at
    busy = after_outcome(DEFAULT, contact(), CallOutcome.BUSY, now, at)  # "call me at 2 pm"
    assert (busy.next_at, busy.outcome) == (at, CallOutcome.BUSY)


BAD_CALLBACKS = [
    pytest.param(CallOutcome.CALLBACK, None, "needs callback_at", id="missing"),
    pytest.param(CallOutcome.CALLBACK, utc(2026, 11, 23, 14), "future", id="past"),
    pytest.param(CallOutcome.CALLBACK, utc(2027, 1, 2), "after the campaign", id="after-end"),
    pytest.param(CallOutcome.EXPIRED, None, "not an outcome", id="system-outcome"),
]


@pytest.mark.parametrize(("outcome", "at", "message"), BAD_CALLBACKS)
def test_unusable_outcomes_are_refused(
    outcome: CallOutcome, at: datetime | None, message: str
) -> None:
    calling = CallingHours(CampaignPolicy(ends_at=utc(2027, 1, 1)))
    with pytest.raises(ValueError, match=message):
        after_outcome(calling, contact(), outcome, utc(2026, 11, 23, 15), at)
