"""The validated rules document: what `rules.py` reads from YAML and `engine.py` compiles.

Everything here is a frozen value. Text that conditions compare is stored casefolded, so
evaluation never folds the rule side again; `contains` phrases are stored as their words
joined by one space (the form the keyword matcher finds them in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import timedelta
from enum import Enum, StrEnum
from typing import Protocol

from core.model import Priority
from router.hours import Calendar


class Kind(Enum):
    """What a field holds, which decides the operators it accepts."""

    TEXT = "text"
    FLAG = "true/false"
    NUMBER = "number"
    TAGS = "list of tags"


class Field(StrEnum):
    CHANNEL = "channel"
    EVENT = "event"
    FROM = "from"
    TO = "to"
    SUBJECT = "subject"
    BODY = "body"
    HAS_ATTACHMENT = "has_attachment"
    TAGS = "customer.tags"
    IS_NEW = "customer.is_new"
    OPEN_TICKETS = "customer.open_tickets"

    @property
    def kind(self) -> Kind:
        return _KINDS.get(self, Kind.TEXT)


_KINDS = {
    Field.HAS_ATTACHMENT: Kind.FLAG,
    Field.IS_NEW: Kind.FLAG,
    Field.OPEN_TICKETS: Kind.NUMBER,
    Field.TAGS: Kind.TAGS,
}

FIELD_ALIASES: Mapping[str, Field] = {"mailbox": Field.TO}
"""Other names supervisors may use for a field (an email's `to` is its mailbox)."""

GATE_FIELDS = frozenset({Field.CHANNEL, Field.EVENT})
"""Fields the engine indexes rules by; a rule's conditions on them are checked first."""


class Op(StrEnum):
    EQUALS = "equals"
    IN = "in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    MATCHES = "matches"
    EXISTS = "exists"
    GTE = "gte"
    LTE = "lte"


OPS_BY_KIND: Mapping[Kind, tuple[Op, ...]] = {
    Kind.TEXT: (Op.EQUALS, Op.IN, Op.CONTAINS, Op.STARTS_WITH, Op.MATCHES, Op.EXISTS),
    Kind.FLAG: (Op.EQUALS,),
    Kind.NUMBER: (Op.EQUALS, Op.IN, Op.GTE, Op.LTE),
    Kind.TAGS: (Op.CONTAINS, Op.EXISTS),
}


class Regex(Protocol):
    """The part of a compiled google-re2 pattern the engine uses (re2 ships no stubs)."""

    def search(self, text: bytes) -> object | None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound the rules file and its evaluation respect; the defaults are safe."""

    max_source_chars: int = 2_000_000
    max_rules: int = 5000
    max_depth: int = 16
    max_values: int = 1000
    max_regex_length: int = 1000
    max_regex_program: int = 5000
    regex_max_mem: int = 1 << 20
    scan_chars: int = 65_536
    """How much of a text field conditions read: bounds the cost of one decision."""
    known_values: bool = True
    """A channel or event must be one a contact can have. Off for a version already stored:
    older hubs took any, and such a version must still load (its rule just never matches)."""


DEFAULT_LIMITS = Limits()
STORED_LIMITS = Limits(known_values=False)


# --- conditions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextIn:
    """`equals` (one value) or `in` (any of several), compared casefolded."""

    field: Field
    op: Op
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TextStartsWith:
    field: Field
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TextContains:
    """Any of the words or phrases, as whole words, case-insensitively."""

    field: Field
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TextMatches:
    field: Field
    pattern: str
    regex: Regex = dataclass_field(compare=False)


@dataclass(frozen=True, slots=True)
class Exists:
    """A text field that is not blank, or a customer with at least one tag."""

    field: Field
    present: bool


@dataclass(frozen=True, slots=True)
class FlagIs:
    field: Field
    value: bool


@dataclass(frozen=True, slots=True)
class NumberIn:
    field: Field
    op: Op
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NumberBound:
    field: Field
    op: Op
    bound: int


@dataclass(frozen=True, slots=True)
class TagsContain:
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Within:
    """The contact's time falls inside (or, with inside=False, outside) a calendar's hours."""

    calendar: str
    inside: bool


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class NotOf:
    child: Condition


Leaf = (
    TextIn
    | TextStartsWith
    | TextContains
    | TextMatches
    | Exists
    | FlagIs
    | NumberIn
    | NumberBound
    | TagsContain
    | Within
)
Condition = Leaf | AllOf | AnyOf | NotOf


# --- queues, SLAs and actions -----------------------------------------------------------


class QueueKind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class AssignPolicy(StrEnum):
    ROUND_ROBIN = "round_robin"  # the eligible agent offered longest ago
    LONGEST_IDLE = "longest_idle"  # the eligible agent idle (holding nothing) the longest
    LEAST_LOADED = "least_loaded"  # the most spare capacity, as a fraction of their own
    MANUAL = "manual"  # no offers: agents claim


@dataclass(frozen=True, slots=True)
class AssignSpec:
    """How a queue's tickets reach agents (the queue's `assign`); router/assign.py decides."""

    policy: AssignPolicy = AssignPolicy.MANUAL
    offer_timeout: timedelta = timedelta(seconds=120)
    skills_required: bool = True  # `skills: preferred` ranks skilled agents first instead


class Metric(StrEnum):
    """The SLA clocks of a ticket (PRODUCT.md, "SLA clocks")."""

    FIRST_RESPONSE = "first_response"  # creation -> the first reply that reached the customer
    NEXT_RESPONSE = "next_response"  # the oldest unanswered customer message -> a reply
    PERIODIC_UPDATE = "periodic_update"  # one reply -> the next, while the ticket is live
    RESOLUTION = "resolution"  # creation -> resolved, across reopens


@dataclass(frozen=True, slots=True)
class Sla:
    """Business-time targets per metric; None leaves a target unset."""

    first_response: timedelta | None = None
    resolution: timedelta | None = None
    next_response: timedelta | None = None
    periodic_update: timedelta | None = None

    def target(self, metric: Metric) -> timedelta | None:
        value: timedelta | None = getattr(self, metric.value)
        return value

    def over(self, fallback: Sla) -> Sla:
        """These targets, with `fallback`'s where these leave one unset."""
        return Sla(*(_first(self.target(m), fallback.target(m)) for m in SLA_ORDER))


SLA_ORDER = (Metric.FIRST_RESPONSE, Metric.RESOLUTION, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE)
"""The field order of `Sla`."""


@dataclass(frozen=True, slots=True)
class OnBreach:
    """What a breach does besides being recorded: the `on_breach` actions."""

    escalate: bool = False  # to the next tier (router/workflow.py escalation_target)
    priority: Priority | None = None
    tags: tuple[str, ...] = ()


DEFAULT_WARN_AT = 0.75
"""The share of a target after which a running clock is `warning`."""


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Base targets, refined per priority: `urgent: {first_response: 30m}` keeps the base
    resolution and tightens only the first response for urgent tickets. `warn_at` is a share
    of each target (None: not given, the default applies); `on_breach` what a breach does."""

    base: Sla = Sla()
    by_priority: Mapping[Priority, Sla] = dataclass_field(default_factory=dict)
    warn_at: float | None = None
    on_breach: OnBreach = OnBreach()

    def for_priority(self, priority: Priority) -> Sla:
        refined = self.by_priority.get(priority)
        return self.base if refined is None else refined.over(self.base)


def _first(value: timedelta | None, fallback: timedelta | None) -> timedelta | None:
    return fallback if value is None else value


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    kind: QueueKind = QueueKind.INBOUND
    tier: int = 1
    calendar: str | None = None
    sla: SlaPolicy = SlaPolicy()
    escalate_to: str | None = None  # else the next tier's queue (router/workflow.py)
    assign: AssignSpec = AssignSpec()


@dataclass(frozen=True, slots=True)
class Actions:
    """What a rule (or the default) does; `proceed` is the file's `continue`."""

    queue: str | None = None
    priority: Priority | None = None
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    sla: SlaPolicy | None = None
    auto_reply: str | None = None
    campaign: str | None = None
    proceed: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    line: int
    when: Condition | None
    then: Actions


@dataclass(frozen=True, slots=True)
class RulesDoc:
    filename: str
    source: str
    calendars: Mapping[str, Calendar]
    queues: Mapping[str, QueueSpec]
    rules: tuple[Rule, ...]
    default: Actions
