"""The people who work the queues: agents, their presence, what they can take, and the
offers that hand them work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.errors import InvalidRequest
from core.model import Role

CHANNELS = ("email", "sms", "voice", "slack", "form", "chat")
"""The channels an agent's capacity is counted on (a ticket's channel)."""

DEFAULT_CAPACITY: Mapping[str, int] = {
    "email": 10,
    "sms": 5,
    "voice": 1,
    "slack": 5,
    "form": 10,
    "chat": 3,
}
"""How many tickets of each channel an agent holds at most when nobody said otherwise."""

MAX_CAPACITY = 10_000
"""The most tickets of one channel anyone may be given: a bigger number is a typo."""

MAX_NAME = 64
RESERVED_NAMES = frozenset({"me", "none"})
"""Words the API reads in a person's place (`/api/agents/me`, `?assignee=none`): a person so
named could never be found by name."""


def person_name(name: str) -> str:
    """`name` when it can name a person (an agent, a token's holder), else InvalidRequest
    saying why: it is shown in lists and records, put in URLs and matched exactly, so it is
    1-64 characters with no control character, no slash and no space at either end."""
    if not name or not name.strip():
        raise InvalidRequest("a name cannot be empty")
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"a name is at most {MAX_NAME} characters")
    if name != name.strip():
        raise InvalidRequest(f"a name cannot begin or end with a space: {name!r}")
    if "/" in name or any(not c.isprintable() for c in name):
        raise InvalidRequest(f"a name cannot hold a slash or a control character: {name!r}")
    if name.lower() in RESERVED_NAMES:
        raise InvalidRequest(f"{name!r} is a word the API reads in a name's place")
    return name


class Presence(StrEnum):
    ONLINE = "online"  # offered work
    AWAY = "away"  # keeps their tickets, offered nothing (also after an unanswered offer)
    OFFLINE = "offline"  # gone: no event stream or heartbeat for presence_timeout


@dataclass(frozen=True, slots=True)
class AgentChange:
    """What `contacthub agent add` or `PUT /api/agents/{name}` sets; None keeps the value
    (a new agent starts with no roles, skills or queues and the default capacity)."""

    roles: frozenset[Role] | None = None
    add_roles: frozenset[Role] = frozenset()  # `token create --role`: one more role
    skills: frozenset[str] | None = None
    capacity: Mapping[str, int] | None = None  # merged over what the agent had
    queues: frozenset[str] | None = None  # empty: every queue


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    roles: frozenset[Role]
    skills: frozenset[str]
    capacity: Mapping[str, int]  # every channel of CHANNELS
    queues: frozenset[str]  # the queues served; empty: every queue
    presence: Presence
    created_at: datetime
    seen_at: datetime | None = None  # the last heartbeat (or presence change)
    online_since: datetime | None = None
    last_offered_at: datetime | None = None
    last_assigned_at: datetime | None = None
    load: Mapping[str, int] = field(default_factory=dict)  # held (active) + offered, by channel

    def serves(self, queue: str) -> bool:
        return not self.queues or queue in self.queues

    def load_on(self, channel: str) -> int:
        return self.load.get(channel, 0)

    def capacity_on(self, channel: str) -> int:
        return self.capacity.get(channel, 0)

    def idle_since(self) -> datetime | None:
        """Since when the agent has been online holding nothing (None: holding something, or
        not online): the later of coming online and the last ticket they took."""
        if self.presence is not Presence.ONLINE or any(self.load.values()):
            return None
        moments = [m for m in (self.online_since, self.last_assigned_at) if m is not None]
        return max(moments) if moments else None


def full_capacity(base: Mapping[str, int], change: Mapping[str, int] | None) -> dict[str, int]:
    """Capacity on every channel: `change` over `base` over the defaults."""
    return {ch: (change or {}).get(ch, base.get(ch, DEFAULT_CAPACITY[ch])) for ch in CHANNELS}


class OfferState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"  # unanswered within the queue's offer_timeout: the agent went away
    WITHDRAWN = "withdrawn"  # the ticket or the agent changed under it (no answer expected)


@dataclass(frozen=True, slots=True)
class NewOffer:
    ticket_id: int
    agent: str
    queue: str
    channel: str
    deadline: datetime
    explanation: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Offer:
    id: int
    ticket_id: int
    agent: str
    queue: str
    channel: str
    state: OfferState
    created_at: datetime
    deadline: datetime
    explanation: tuple[str, ...]
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """A waiting ticket as the offer loop sees it: no holder, no open offer."""

    id: int
    queue: str
    channel: str
    priority_rank: int
    created_at: datetime
    skills: frozenset[str]
    declined_by: frozenset[str]  # agents who rejected it or let an offer of it expire


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as `contacthub token list` shows it (never its secret or digest)."""

    id: int
    name: str
    role: Role | None  # the role it was issued for; None: every role of its agent
    created_at: datetime
    revoked_at: datetime | None
