"""Outbound campaigns, the pure part: when a callee may be called, and what an outcome means.

A contact's *slot* names the time zones of its number (phonenumbers' timezone data, see
router/campaign_lists.py) and, optionally, the hours the customer prefers:
``America/New_York``, ``America/Chicago,America/Denver|14:00-17:00``, or ``""`` when the
zone is unknown. `CallingHours` compiles a campaign's policy and answers, for a slot and an
instant, whether it is callable and when it next will be:

- inside the window (default 08:00-21:00) on an allowed day and not on a holiday, on the
  callee's wall clock, whatever the offset that day (DST included);
- a number in several zones is callable only when it is callable in *all* of them (the
  overlap: nobody is woken up at 07:30 because the number might be in the zone next door);
- an unknown zone is callable only under the campaign's own `timezone`, if it names one;
- never outside the law's hours in that zone (router/calling_law.py): the campaign's window
  is cut to them zone by zone, so `hours = "00:00-24:00"` still calls from 08:00 to 21:00.

`after_outcome` turns an attempt's outcome into the contact's next state following the
campaign's retry policy. No clock is read: every instant is an argument.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from core.campaigns import (
    APPOINTMENT_RANK,
    RETRYABLE,
    CallOutcome,
    CampaignContact,
    CampaignPolicy,
    ContactState,
    OutcomeChange,
)
from router.calling_law import LEGAL, CallingLaw, day_ranges, intersect
from router.hours import Calendar, Range, load_zone, parse_days

SLOT_SEPARATOR = "|"
UNKNOWN_ZONE = "Etc/Unknown"
FINAL_OUTCOMES = {
    CallOutcome.ANSWERED: ContactState.COMPLETED,
    CallOutcome.RESOLVED: ContactState.COMPLETED,
    CallOutcome.WRONG_NUMBER: ContactState.INVALID,
    CallOutcome.DO_NOT_CALL: ContactState.SUPPRESSED,
}


def slot_key(zones: Iterable[str], preferred_hours: str = "") -> str:
    """The slot of a number in `zones` whose customer prefers `preferred_hours` (or any)."""
    known = ",".join(sorted({z for z in zones if z != UNKNOWN_ZONE}))
    return f"{known}{SLOT_SEPARATOR}{preferred_hours}" if preferred_hours else known


def parse_slot(slot: str) -> tuple[tuple[str, ...], str]:
    zones, _, preferred = slot.partition(SLOT_SEPARATOR)
    return (tuple(zones.split(",")) if zones else (), preferred)


window_ranges = day_ranges


MAX_RETRY = timedelta(days=365)
MAX_LEASE = timedelta(days=1)
LAST_YEAR = 2200
"""Bounds that keep `now + delay` far from datetime's year 9999 (an OverflowError) and mean
what they say: a retry a year away, a call held a day, a campaign ending within centuries."""


def check_policy(policy: CampaignPolicy) -> list[str]:
    """Every problem of a policy, each naming its field (empty: the policy is usable)."""
    problems = []
    checks = (
        ("hours", lambda: window_ranges(policy.hours)),
        ("days", lambda: parse_days(policy.days)),
        ("timezone", lambda: policy.timezone and load_zone(policy.timezone)),
    )
    for name, check in checks:
        try:
            check()
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if policy.max_attempts < 1:
        problems.append("max_attempts: must be at least 1")
    for outcome, delay in policy.retry:
        if outcome not in RETRYABLE:
            allowed = ", ".join(sorted(RETRYABLE))
            problems.append(f"retry: {outcome!r} is not a retried outcome ({allowed})")
        elif delay <= timedelta(0):
            problems.append(f"retry.{outcome}: must be a positive duration")
    if policy.lease < timedelta(seconds=10):
        problems.append("lease: must be at least 10s")
    return problems + _too_far(policy)


def _too_far(policy: CampaignPolicy) -> list[str]:
    problems = [f"retry.{o}: must be at most 365d" for o, d in policy.retry if d > MAX_RETRY]
    if policy.lease > MAX_LEASE:
        problems.append("lease: must be at most 1d")
    if policy.ends_at is not None and policy.ends_at.year >= LAST_YEAR:
        problems.append(f"ends_at: must be before {LAST_YEAR}")
    return problems


@functools.lru_cache(maxsize=4096)
def _calendar(
    zone: str, ranges: tuple[Range, ...], days: tuple[int, ...], holidays: tuple[date, ...]
) -> Calendar:
    return Calendar.build(zone, load_zone(zone), dict.fromkeys(days, ranges), holidays)


class CallingHours:
    """A campaign's calling window under the law, compiled; answers per slot (cached)."""

    def __init__(self, policy: CampaignPolicy, law: CallingLaw = LEGAL) -> None:
        self.policy = policy
        self.law = law
        self._ranges = window_ranges(policy.hours)
        self._days = parse_days(policy.days)
        self._calendars: dict[str, tuple[Calendar, ...]] = {}
        self._horizon = timedelta(days=7 * (len(policy.holidays) + 2))

    def calendars(self, slot: str) -> tuple[Calendar, ...]:
        """One calendar per zone of the slot; () when the slot can never be called."""
        found = self._calendars.get(slot)
        if found is None:
            found = self._calendars[slot] = self._compile(slot)
        return found

    def _compile(self, slot: str) -> tuple[Calendar, ...]:
        zones, preferred = parse_slot(slot)
        if not zones and self.policy.timezone:
            zones = (self.policy.timezone,)
        ranges = self._ranges
        if preferred:
            ranges = intersect(ranges, window_ranges(preferred))
        by_zone = {zone: self.law.narrow(zone, ranges) for zone in zones}
        if not by_zone or not all(by_zone.values()):
            return ()
        holidays = tuple(sorted(self.policy.holidays))
        return tuple(_calendar(z, r, self._days, holidays) for z, r in by_zone.items())

    def is_callable(self, slot: str, at: datetime) -> bool:
        calendars = self.calendars(slot)
        return bool(calendars) and all(c.is_open(at) for c in calendars)

    def next_callable(self, slot: str, at: datetime) -> datetime | None:
        """The first instant at or after `at` when the slot is callable (UTC), or None when
        it never is (no zone, no overlap of the window in all its zones)."""
        calendars = self.calendars(slot)
        if not calendars:
            return None
        moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        limit = moment + self._horizon
        while moment <= limit:
            opens = [c.next_open(moment) for c in calendars]
            if any(o is None for o in opens):
                return None
            latest = max(o for o in opens if o is not None)
            if all(c.is_open(latest) for c in calendars):
                return latest.astimezone(UTC)
            # A zone is closed at `latest`: its next opening lies strictly later.
            moment = latest
        return None

    def open_slots(self, slots: Iterable[str], at: datetime) -> list[str]:
        return [slot for slot in slots if self.is_callable(slot, at)]

    def next_opening(self, slots: Iterable[str], at: datetime) -> datetime | None:
        """When the first of these slots is callable (now, if one is)."""
        found = (self.next_callable(slot, at) for slot in slots)
        return min((moment for moment in found if moment is not None), default=None)

    def local_time(self, slot: str, at: datetime) -> datetime | None:
        """The callee's wall clock (their first zone), for the agent's screen."""
        calendars = self.calendars(slot)
        return at.astimezone(calendars[0].zone) if calendars else None


def is_ended(policy: CampaignPolicy, now: datetime) -> bool:
    return policy.ends_at is not None and now >= policy.ends_at


def after_outcome(
    hours: CallingHours,
    contact: CampaignContact,
    outcome: CallOutcome,
    now: datetime,
    callback_at: datetime | None = None,
    agent: str = "",
) -> OutcomeChange:
    """The contact's next state after an attempt by `agent`; ValueError for an outcome an
    agent cannot record or an unusable callback time."""
    final = FINAL_OUTCOMES.get(outcome)
    if final is not None:
        # A customer who asks not to be called again goes on the do-not-call list.
        source = f"agent:{agent}" if outcome is CallOutcome.DO_NOT_CALL else None
        return OutcomeChange(outcome, final, now, contact.priority, do_not_call=source)
    if outcome is CallOutcome.CALLBACK and callback_at is None:
        raise ValueError("the outcome callback needs callback_at, the time the customer chose")
    if callback_at is not None:
        return _appointment(hours.policy, outcome, now, callback_at)
    if outcome not in RETRYABLE:
        raise ValueError(f"{outcome} is not an outcome an agent records")
    return _retry(hours, contact, outcome, now)


def _appointment(
    policy: CampaignPolicy, outcome: CallOutcome, now: datetime, callback_at: datetime
) -> OutcomeChange:
    if callback_at <= now:
        raise ValueError("callback_at must be in the future")
    if policy.ends_at is not None and callback_at >= policy.ends_at:
        raise ValueError("callback_at is after the campaign ends")
    # The customer chose the time; the calling window still applies, and the appointment
    # is due from then on at the top rank.
    return OutcomeChange(
        outcome, ContactState.QUEUED, callback_at, APPOINTMENT_RANK, callback_at=callback_at
    )


def _retry(
    hours: CallingHours, contact: CampaignContact, outcome: CallOutcome, now: datetime
) -> OutcomeChange:
    policy = hours.policy
    if contact.attempts + 1 >= policy.max_attempts:
        return OutcomeChange(outcome, ContactState.EXHAUSTED, now, contact.priority)
    retry_at = now + policy.delay(outcome)  # an absolute delay: DST does not stretch it
    first = hours.next_callable(contact.slot, retry_at)
    if first is None or (policy.ends_at is not None and first >= policy.ends_at):
        return OutcomeChange(outcome, ContactState.EXPIRED, now, contact.priority)
    return OutcomeChange(outcome, ContactState.QUEUED, retry_at, contact.priority)
