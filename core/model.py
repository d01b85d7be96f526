"""The vocabulary every layer shares: contacts coming in, and what the hub makes of them.

An `Inbound` is one normalised provider message. The `Router` turns it (with `CustomerFacts`)
into a `Decision`; the store commits it atomically into a `Ticket` of a `Customer`, and
answers with an `IngestResult`. Everything here is a frozen value: safe to share across
threads (SQLite reads run in a pool of them) and cheap to build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from core import search
from core.deadlines import SlaMarks
from core.errors import InvalidRequest
from core.record import SYSTEM as SYSTEM_ACTOR
from core.record import Actor, Detail, EventKind, TicketEvent

T = TypeVar("T")


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
"""Statuses in which a ticket still waits for the team (it counts as an open ticket)."""


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Higher is more pressing; queues order by rank, then age."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    OUTBOUND = "outbound"
    ADMIN = "admin"


class Outcome(StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    DUPLICATE = "duplicate"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Event(StrEnum):
    MESSAGE = "message"
    MISSED_CALL = "missed_call"
    VOICEMAIL = "voicemail"
    CALLBACK_REQUEST = "callback_request"
    CALL = "call"


@dataclass(frozen=True, slots=True)
class Identity:
    """How a customer is reached on one channel: kind is email, phone, slack, chat (a web
    chat visitor the website signed, by its user id) or visitor (an unsigned chat session)."""

    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A reference to attachment bytes: a blob (sha256) or a provider URL, never the bytes."""

    name: str
    content_type: str
    size: int | None = None
    sha256: str | None = None
    url: str | None = None


TICKET_KEY_PREFIX = "ticket:"
"""A thread key naming a ticket by id (`ticket:42`, from an email subject's `[#42]` or a
reply to one of our Message-IDs). A store resolves it only for the customer who owns that
ticket, so a stranger quoting a ticket number gets a new ticket; it is never stored."""


def ticket_thread_key(ticket_id: int) -> str:
    return f"{TICKET_KEY_PREFIX}{ticket_id}"


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""The C0 controls but tab, newline and carriage return, and DEL."""


def without_controls(text: str) -> str:
    """The text without control characters (`_CONTROLS`): what is stored of a customer's."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


@dataclass(frozen=True, slots=True)
class Inbound:
    """One provider message, normalised by its channel."""

    channel: str
    external_id: str
    sender: Identity
    text: str
    received_at: datetime
    event: str = Event.MESSAGE
    sender_name: str = ""
    identities: tuple[Identity, ...] = ()
    recipient: str = ""
    subject: str = ""
    attachments: tuple[Attachment, ...] = ()
    thread_keys: tuple[str, ...] = ()
    dedupe_key: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A NUL or another control character in what a customer typed is no text: stored,
        # it would reach the agents' screens, searches, CSV cells and the replies quoting it.
        # (A value that is no text is left for the router to refuse: it says why.)
        for name in ("text", "subject", "sender_name"):
            value = getattr(self, name)
            clean = without_controls(value) if isinstance(value, str) else value
            if clean is not value:
                object.__setattr__(self, name, clean)

    @property
    def key(self) -> str:
        """The idempotency key: the same provider message always yields the same key."""
        return self.dedupe_key or f"{self.channel}:{self.external_id}"

    @property
    def all_identities(self) -> tuple[Identity, ...]:
        return (self.sender, *(i for i in self.identities if i != self.sender))


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the router may know of the sender at the moment of the contact."""

    customer_id: int | None
    tags: tuple[str, ...] = ()
    open_tickets: int = 0

    @property
    def is_new(self) -> bool:
        return self.customer_id is None


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a contact goes, and why."""

    queue: str
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    rule: str | None = None
    explanation: tuple[str, ...] = ()
    first_response: timedelta | None = None
    resolution: timedelta | None = None
    auto_reply: str | None = None
    campaign: str | None = None
    rules_version: int | None = None
    first_response_due: datetime | None = None
    """`first_response` counted in the queue's business hours from the contact's time."""
    resolution_due: datetime | None = None
    sla: SlaMarks | None = None
    """The new ticket's SLA marks from the contact's time (deadlines with ticket id 0: the
    store names the ticket it makes), written in the commit that makes it."""


class Router(Protocol):
    """The router as the store sees it: pure and fast, so a store may call it in its commit."""

    @property
    def needs_history(self) -> bool:
        """Whether decisions read the customer's tags or open tickets (else they go unread)."""

    def decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        """Where a new ticket goes; never raises."""

    def sla_after(self, events: Sequence[TicketEvent], now: datetime) -> SlaMarks | None:
        """The SLA marks of a clocked ticket whose record is `events` (a customer's message
        just appended to it) at `now`, to keep with that message; None when it keeps none.
        Never raises."""


@dataclass(frozen=True, slots=True)
class ThreadPolicy:
    """How long after its last activity a ticket still takes a customer's next message."""

    reopen_window: Mapping[str, timedelta] = field(default_factory=dict)
    default_window: timedelta = timedelta(days=7)

    def window(self, channel: str) -> timedelta:
        return self.reopen_window.get(channel, self.default_window)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one commit did, and what it decided, so no caller reads it back."""

    outcome: Outcome
    ticket_id: int
    message_id: int
    customer_id: int
    queue: str
    """The ticket's queue once the commit is done (for a duplicate: where it is now)."""
    decision: Decision | None = None
    """The router's decision the store kept for a new ticket; None when the contact went to
    a ticket that was already there (appended, or a duplicate)."""

    @property
    def created(self) -> bool:
        return self.outcome is Outcome.CREATED


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    ticket_id: int
    direction: Direction
    channel: str
    body: str
    at: datetime
    external_id: str = ""
    event: str = Event.MESSAGE
    sender: str = ""
    recipient: str = ""
    subject: str = ""
    attachments: tuple[Attachment, ...] = ()
    author: str = ""
    delivery: str = ""
    error: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)  # the channel's notes (Inbound.meta)
    edited_at: datetime | None = None  # the customer edited it (the body is the new text)
    deleted_at: datetime | None = None  # the customer deleted it (the body is kept)

    @property
    def automatic(self) -> str:
        """Why no person wrote it ("" when one did): an autoresponder's mail coming in, our
        acknowledgement going out (`meta["automatic"]`). Ours never count as a response."""
        return self.meta.get("automatic", "")


SYSTEM = "system"
"""The author of a message the hub sends on its own (an acknowledgement); on the ticket's
record its actor is core.record.SYSTEM (imported here as SYSTEM_ACTOR), whose text this is."""


@dataclass(frozen=True, slots=True)
class Via:
    """How a message to the customer goes out, as the store records it before it is sent."""

    channel: str = ""
    """The channel it goes out on ("": the ticket's own; a form's ticket is answered by email)."""
    automatic: str = ""
    """Why it goes out without an agent ("acknowledgement", "help"); "" for an agent's reply.
    Kept as `meta["automatic"]`; an automatic message changes nothing of the ticket."""
    delivery: str = "queued"
    """Its delivery when stored: "sent" for a text the provider's answer carries (TwiML)."""


FINAL_DELIVERY = frozenset({"delivered", "undelivered", "failed", "read"})
"""Delivery statuses after which a provider reports nothing that should replace them."""

FAILED_DELIVERY = frozenset({"failed", "undelivered"})
"""Delivery statuses of a message that never reached the customer.

A ticket's `first_responded_at` is the time of its first agent reply that a provider
accepted: an outbound message not automatic, with a provider id (the provider took it and
named it), whose delivery is not one of these. A reply still `queued` by the hub, failed, or
bounced later does not count; stores keep this in the operation that records the delivery."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of an outbound message: the provider's status, its id there, why it failed."""

    status: str
    provider_id: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_DELIVERY


@dataclass(frozen=True, slots=True)
class Route:
    """Why a ticket is where it is: the rule, the reasons, the rules version, the facts seen."""

    rule: str | None
    explanation: tuple[str, ...]
    rules_version: int | None = None
    facts: CustomerFacts = CustomerFacts(None)


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    status: Status
    channel: str
    queue: str
    priority: Priority
    customer_id: int
    subject: str
    created_at: datetime
    updated_at: datetime
    route: Route
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    assignee: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    messages: tuple[Message, ...] = ()
    sla: SlaMarks | None = None
    """Its SLA clocks and standing as computed at the last change that moved them (no
    deadlines: those are the watcher's); None before any was computed."""


Place = tuple[str, str | None]
"""Where a ticket is: its queue, and its assignee (None: nobody)."""


UNASSIGN = ""
"""The `TicketChange.assignee` that takes a ticket from whoever holds it (it waits again)."""


@dataclass(frozen=True, slots=True)
class Cause:
    """Why a change is more than an edit: a transfer (detail `note`) or an escalation (detail
    `reason`). The store records it as one event of its kind, before the fields' events."""

    kind: EventKind
    detail: Mapping[str, Detail] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketChange:
    """A change of a ticket an agent, a supervisor or a rule asks for; None leaves a field as
    it is. The store applies it in one atomic step against the ticket as it is then: a status
    move core/workflow.py refuses raises MoveRefused, and every field that changes is one
    event on the record, in the order of the fields here, with `actor` as its actor."""

    status: Status | None = None
    priority: Priority | None = None
    queue: str | None = None
    assignee: str | None = None  # UNASSIGN unassigns
    tags: tuple[str, ...] | None = None
    actor: Actor = SYSTEM_ACTOR
    cause: Cause | None = None
    holder: str | None = None
    """When set, the change applies only while this person or nobody holds the ticket (an
    agent acting on their own work); HeldByOther otherwise."""
    in_queue: str | None = None
    """When set, the change applies only while the ticket is in this queue; Conflict
    otherwise (an escalation decided from the queue it was in)."""
    once: bool = False
    """When set, the change applies only while its cause (its kind, with the detail's
    `metric` and `key`) is not on the ticket's record yet; Conflict otherwise: a clock's act
    (an SLA warning or breach) is made once, whichever hubs try it."""
    sla: SlaMarks | None = None
    """The ticket's SLA as the change leaves it (router/sla/marks.py), written in the same
    atomic step when its `basis` holds and the change writes anything."""


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Which tickets a listing shows; every criterion given must hold (None: any).

    `assignee` "" means unassigned tickets (as a TicketChange's "" unassigns). `text` is a
    search: each of its words (core.search.words) must be a word of the ticket's subject or
    of one of its messages; a text without words filters nothing.
    """

    queue: str | None = None
    status: Status | None = None
    customer_id: int | None = None
    assignee: str | None = None
    channel: str | None = None
    text: str = ""
    sla: str | None = None
    """core.deadlines AT_RISK or BREACHED: tickets of that SLA standing (read through its
    index)."""
    ids: tuple[int, ...] | None = None
    """Only these tickets (the API takes up to 200: a report's drill-down, shown with their
    subjects): read by id, never a scan."""

    @property
    def words(self) -> tuple[str, ...]:
        return search.words(self.text)


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    created_at: datetime
    identities: tuple[Identity, ...] = ()
    tags: tuple[str, ...] = ()
    merged_into: int | None = None
    """The survivor this customer was merged into (core/customers.py); it then has no
    identities, tickets or tags of its own until the merge is undone."""


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    waiting: int
    open: int
    oldest_waiting_at: datetime | None
    at_risk: int = 0
    """Open tickets whose SLA standing is at risk (core.deadlines AT_RISK), a counter too."""


@dataclass(frozen=True, slots=True)
class Token:
    """A live token as authentication sees it: its agent's name and the roles it grants (the
    agent's roles, narrowed to the one role it was issued for, if any)."""

    id: int
    name: str
    roles: frozenset[Role]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RulesVersion:
    version: int
    source: str
    author: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Replay:
    """A ticket's first contact as the router saw it, to decide it again under other rules."""

    ticket_id: int
    queue: str
    route: Route
    inbound: Inbound


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next: str | None


MAX_ID = 2**53 - 1
"""No id goes above this: Redis's scripts count ids in Lua numbers, exact up to 2^53."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,15}")


def whole_id(text: str) -> int | None:
    """The id a decimal text spells (no sign, no leading zero, ASCII digits), if it is one
    from 0 to MAX_ID; None otherwise. Listing cursors and ids from outside pass through here,
    so a huge number never reaches SQLite (where it overflows) or Redis (where it rounds)."""
    if _DECIMAL.fullmatch(text) is None:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def ascii_digits(text: str) -> bool:
    """Whether the text is ASCII digits only. `str.isdigit` also accepts "²" and other digits, which
    `int` refuses or reads as another number: every number from outside is checked here (or
    by whole_id, which bounds it too)."""
    return text.isascii() and text.isdigit()


def cursor_id(cursor: str) -> int:
    """A listing cursor: the id the next page starts below. InvalidRequest when it is none."""
    number = whole_id(cursor)
    if number is None:
        raise InvalidRequest(f"not a cursor: {cursor[:40]!r}")
    return number
