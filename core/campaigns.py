"""The vocabulary of outbound campaigns: callback lists, calls and what came of them.

A `Campaign` calls the `CampaignContact`s of its list inside a calling window (in each
callee's local time, `CampaignPolicy`). An agent asks for the next callable contact and gets
a `Lease` on it with an `Attempt`; the attempt ends with a `CallOutcome`, which the router
turns into the contact's next state (`OutcomeChange`): another try later, an appointment
the customer chose, or a final state.

Each contact carries a `slot`: the time zones of its number and its preferred hours (see
router/campaigns.py). Whether a slot is callable at an instant is the router's pure
decision; the store only filters contacts by the slots the router says are open, so the
window is never frozen into stored times and a policy change applies at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from core.model import Priority


class CampaignState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class DialerMode(StrEnum):
    MANUAL = "manual"  # agents ask for the next contact (and may have the hub dial them first)
    PROGRESSIVE = "progressive"  # the hub dials a contact for each ready agent, one each


class ContactState(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (its time and its window)
    LEASED = "leased"  # handed to an agent, until the outcome or the lease's end
    COMPLETED = "completed"  # reached: answered or resolved
    EXHAUSTED = "exhausted"  # no more attempts allowed
    INVALID = "invalid"  # wrong number
    SUPPRESSED = "suppressed"  # do not call: the list, an SMS opt-out, an agent's mark
    EXPIRED = "expired"  # the campaign ends before the contact could be tried again


RENEWABLE_STATES = frozenset({ContactState.COMPLETED, ContactState.EXHAUSTED, ContactState.EXPIRED})
"""Final states a new callback request puts back in the queue (never a do-not-call)."""


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    RESOLVED = "resolved"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    FAILED = "failed"
    WRONG_NUMBER = "wrong_number"
    DO_NOT_CALL = "do_not_call"
    CALLBACK = "callback"  # the customer chose a time (`callback_at`)
    EXPIRED = "expired"  # no outcome arrived before the lease ended (set by the store)


RETRYABLE = frozenset(
    {CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL, CallOutcome.FAILED}
)
REACHED = frozenset(
    {CallOutcome.ANSWERED, CallOutcome.RESOLVED, CallOutcome.CALLBACK, CallOutcome.DO_NOT_CALL}
)
"""Outcomes in which a person answered: the numerator of the contact rate."""

APPOINTMENT_RANK = 4
"""Rank of a contact whose customer chose the time: above every priority, so it is due first."""

DEFAULT_RETRY: tuple[tuple[str, timedelta], ...] = (  # by outcome name: one spelling of it
    (CallOutcome.BUSY.value, timedelta(minutes=30)),
    (CallOutcome.FAILED.value, timedelta(hours=1)),
    (CallOutcome.NO_ANSWER.value, timedelta(hours=4)),
    (CallOutcome.VOICEMAIL.value, timedelta(days=1)),
)


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """When and how often a campaign may call. Hashable, so compiled windows can be cached.

    `hours` and `days` are in the callee's local time (`08:00-21:00`, `mon-fri`);
    `holidays` are local dates; `timezone` is the zone used for numbers whose own zone is
    unknown (None: those numbers are never called).
    """

    hours: str = "08:00-21:00"
    days: str = "mon-sun"
    holidays: tuple[date, ...] = ()
    timezone: str | None = None
    max_attempts: int = 5
    retry: tuple[tuple[str, timedelta], ...] = DEFAULT_RETRY
    lease: timedelta = timedelta(minutes=10)
    ends_at: datetime | None = None
    priority: Priority = Priority.NORMAL
    dialer: DialerMode = DialerMode.MANUAL
    machine_detection: bool = False  # Twilio's AMD: a machine is voicemail, not an agent's
    voicemail_url: str = ""  # audio played to a machine before hanging up ("": none)

    def delay(self, outcome: str) -> timedelta:
        return dict(self.retry).get(outcome, timedelta(hours=1))

    def to_json(self) -> str:
        return json.dumps(
            {
                "hours": self.hours,
                "days": self.days,
                "holidays": [d.isoformat() for d in self.holidays],
                "timezone": self.timezone,
                "max_attempts": self.max_attempts,
                "retry": {o: d.total_seconds() for o, d in self.retry},
                "lease": self.lease.total_seconds(),
                "ends_at": None if self.ends_at is None else self.ends_at.timestamp(),
                "priority": self.priority.value,
                "dialer": self.dialer.value,
                "machine_detection": self.machine_detection,
                "voicemail_url": self.voicemail_url,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CampaignPolicy:
        data: dict[str, Any] = json.loads(text)
        ends = data["ends_at"]
        return cls(
            hours=data["hours"],
            days=data["days"],
            holidays=tuple(date.fromisoformat(d) for d in data["holidays"]),
            timezone=data["timezone"],
            max_attempts=data["max_attempts"],
            retry=tuple((o, timedelta(seconds=s)) for o, s in data["retry"].items()),
            lease=timedelta(seconds=data["lease"]),
            ends_at=None if ends is None else datetime.fromtimestamp(ends, UTC),
            priority=Priority(data["priority"]),
            # Policies stored before the dialer existed dial nothing by themselves.
            dialer=DialerMode(data.get("dialer", DialerMode.MANUAL)),
            machine_detection=bool(data.get("machine_detection", False)),
            voicemail_url=str(data.get("voicemail_url", "")),
        )


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """What it takes to create a campaign."""

    name: str
    queue: str
    caller_id: str = ""
    policy: CampaignPolicy = CampaignPolicy()
    state: CampaignState = CampaignState.PAUSED


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    queue: str
    caller_id: str
    policy: CampaignPolicy
    state: CampaignState
    created_at: datetime
    updated_at: datetime


class NewContact(NamedTuple):
    """One contact to add to a campaign, already normalised (E.164, slot, first time).

    A named tuple, not a dataclass: a list's million of them cross from the normalising
    processes to the storing one, and a tuple pickles in a third of the time."""

    phone: str
    slot: str
    next_at: datetime
    name: str = ""
    email: str = ""
    external_ref: str = ""
    notes: str = ""
    preferred: str = ""
    priority: int = 1  # Priority.rank
    line: int = 0  # where it came from in its list (0: not from a list)


@dataclass(frozen=True, slots=True)
class CampaignContact:
    id: int
    campaign_id: int
    phone: str
    slot: str
    state: ContactState
    priority: int
    rank: int
    attempts: int
    next_at: datetime
    created_at: datetime
    updated_at: datetime
    name: str = ""
    email: str = ""
    external_ref: str = ""
    notes: str = ""
    preferred: str = ""
    source: str = ""  # the list load ("csv:<id>") or the ticket ("ticket:42") it came from
    line: int = 0
    last_outcome: str | None = None
    attempt_id: int | None = None  # the open attempt while leased
    lease_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A list row not added: its line, its number, and why (duplicate or suppressed)."""

    line: int
    phone: str
    reason: str


@dataclass(frozen=True, slots=True)
class ContactBatch:
    """What a store made of one batch of new contacts."""

    accepted: int = 0
    renewed: int = 0  # finished contacts a new callback request queued again
    duplicates: tuple[Rejected, ...] = ()  # reason "in the list" or "in the campaign"
    suppressed: tuple[Rejected, ...] = ()  # reason "do not call (<source>)" or "sms opt-out"


DUPLICATE_IN_LIST = "in the list"
DUPLICATE_IN_CAMPAIGN = "in the campaign"
SMS_OPT_OUT = "sms opt-out"


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    campaign_id: int
    contact_id: int
    agent: str
    started_at: datetime
    lease_until: datetime
    ended_at: datetime | None = None
    outcome: CallOutcome | None = None
    callback_at: datetime | None = None
    note: str = ""
    call_sid: str = ""  # the Twilio call that dialled the contact ("": dialled by hand)
    answered_by: str = ""  # Twilio's AnsweredBy (human, machine_start, ...) with AMD on
    call_outcome: CallOutcome | None = None  # what the call itself ended as

    @property
    def refinable(self) -> bool:
        """A dialled call a person answered, its conversational outcome not yet recorded."""
        return self.call_outcome is CallOutcome.ANSWERED and self.outcome is CallOutcome.ANSWERED


@dataclass(frozen=True, slots=True)
class Lease:
    """A contact handed to one agent, with the attempt its outcome closes."""

    contact: CampaignContact
    attempt: Attempt


@dataclass(frozen=True, slots=True)
class OutcomeChange:
    """An attempt's outcome and the contact's next state, as the router decided them."""

    outcome: CallOutcome
    state: ContactState
    next_at: datetime
    rank: int
    callback_at: datetime | None = None
    note: str = ""
    do_not_call: str | None = None  # the source to add the number to the do-not-call list
    call_sid: str = ""  # set: the outcome is the call's own, from its status callback
    refines: bool = False  # an agent's outcome of a call the dialer recorded as answered


@dataclass(frozen=True, slots=True)
class ContactHistory:
    contact: CampaignContact
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class DoNotCall:
    phone: str
    source: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class DoNotCallRemoval:
    """A number taken off the do-not-call list: the entry as it was, who removed it, why."""

    phone: str
    source: str
    added_at: datetime
    removed_by: str
    reason: str
    removed_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    """A campaign's numbers as the store counts them (the faces add rates and windows)."""

    by_state: Mapping[str, int] = field(default_factory=dict)
    by_outcome: Mapping[str, int] = field(default_factory=dict)  # attempts, by outcome
    attempts_per_contact: Mapping[int, int] = field(default_factory=dict)  # attempts -> contacts
    callable_now: int = 0

    @property
    def contacts(self) -> int:
        return sum(self.by_state.values())
