"""Report rollups: each ticket's tally and what it adds to the hourly, daily and monthly cells.

A report counts the tickets created in its window, each as its record stands (router/
report_facts.py folds the record into `TicketFacts`). Folding a year of events per report
is too slow, so every store keeps, in the same atomic commit as the events:

- a **tally** per ticket: the same facts the report fold keeps (`Tally.add` mirrors
  `router.report_facts`'s fold event by event), stored as JSON;
- **cells**, keyed by (level, period, queue, channel, agent): the sums of the tallies of the
  tickets created in that period. A change of a ticket adds the difference between its
  contribution after and before (`delta`), so cells are sums of current tallies. Levels: the
  UTC hour, and the day and month in the store's calendar, of creation (core/periods.py),
  so a year reads ~100 cells, not 8,760.

A contribution is a map (queue, channel, agent, name) -> (count, total). The ticket's own
figures go to agent "" (created, resolved, first response, resolution, one-touch, repeat
contact, SLA route and breaches); each agent who handled it adds its own under its name
(handled, the agent's first response, handle time), in its queue and channel and once more
under queue and channel "*" (what a report of every queue reads). A duration is kept as its
histogram bin alone (`bin_of`: bins 1/32 wide on a log scale, with the count and the total of their
values): the bins add up to its count and total, so a cell of those too would only be
written twice on every commit that moves one. Percentiles come from the bins: the value
reported for a bin is the mean of its values, exact when the bin holds one distinct value
and always within the bin (< 3.2 % off). An agent's
durations take bins four times as wide (`bin_width`, < 13.1 %): agents times bins were
nine rows in ten of a year's summary, and a year's report reads every one of them.

A hold still running (an assignee on an unresolved ticket) has no final handle time: it ends
at the report's end, so it is kept out of the cells and listed apart (`running`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from core.json_text import dumps, loads
from core.periods import UTC_CELLS, Calendar, Periods
from core.record import Actor, ActorKind, Detail, EventKind

FOLLOW_UP = 72 * 3600.0
"""Seconds after a resolution in which a customer's message is a repeat contact."""
DONE = frozenset({"resolved", "closed"})
FAILED = frozenset({"failed", "undelivered"})  # core.model.FAILED_DELIVERY
BIN_RATIO = 1 + 1 / 32
LOG_RATIO = math.log(BIN_RATIO)
LEVELS = ("h", "d", "m")
"""The periods cells are kept for: the UTC hour of a ticket's creation, and its day and month
in the store's calendar (core/periods.py: UTC unless set)."""
MOVES = frozenset(
    {
        EventKind.CREATED, EventKind.MESSAGE_IN, EventKind.REPLY_OUT, EventKind.DELIVERY,
        EventKind.QUEUE, EventKind.CUSTOMER_MERGED, EventKind.CUSTOMER_UNMERGED,
        EventKind.STATUS, EventKind.ASSIGNED, EventKind.UNASSIGNED, EventKind.SLA_BREACH,
    }
)  # fmt: skip
"""The kinds of event that can change a tally; the others leave it as it is."""

SLA_CLOCKS = {
    "first_response": "f", "next_response": "n", "periodic_update": "p", "resolution": "r",
}  # fmt: skip
"""The SLA clocks (router.spec.Metric) by the letter a tally and its cells name them with: a
breach of one counts in cell "rm<letter>:<route>" (a summary's SLA met per clock)."""
CLOCK_OF = {letter: clock for clock, letter in SLA_CLOCKS.items()}

ANY = "*"
"""The queue and channel of the agents' cells that count every queue and channel."""
VOLUME, TICKETS, AGENTS, AGENTS_BY_QUEUE = "v", "t", "a", "s"
"""Kinds of cells, by what reads them: a volume series (created, first responses, SLA
routes), a summary's other figures of tickets (and each SLA clock's breaches), the agents'
figures of every queue (queue "*"), the agents' figures per queue and channel."""
READS = {"volume": (VOLUME,), "summary": (VOLUME, TICKETS, AGENTS)}
"""The kinds each report reads (a summary of one queue or channel: AGENTS_BY_QUEUE)."""


def kind_of(queue: str, agent: str, name: str) -> str:
    if agent:
        return AGENTS if queue == ANY else AGENTS_BY_QUEUE
    if name in ("one_touch", "repeat") or (name[0] == "r" and name[1:2] not in (":", "t", "b")):
        return TICKETS
    return VOLUME


CellKey = tuple[str, str, str, str]
"""(queue, channel, agent, name): agent "" for the ticket's own figures."""
Contribution = dict[CellKey, tuple[int, float]]


def bin_of(seconds: float) -> int:
    """The histogram bin of a duration: 0 below a second, then 1/32 wide on a log scale."""
    if seconds < 1:
        return 0
    return 1 + math.floor(math.log(seconds) / LOG_RATIO)


AGENT_BINS = 4
"""Fine bins to one bin of an agent's durations (first response, handle time)."""


def bin_width(agent: str) -> int:
    """How many fine bins make one bin of a duration of `agent` ("": the ticket's own)."""
    return AGENT_BINS if agent else 1


def wide_bin_of(seconds: float, width: int) -> int:
    """The bin of a duration in bins `width` fine bins wide (0 below a second)."""
    return (bin_of(seconds) + width - 1) // width


def bin_start(at: int, width: int) -> float:
    """Where bin `at` of bins `width` fine bins wide starts."""
    return 0.0 if at == 0 else BIN_RATIO ** ((at - 1) * width)


@dataclass(slots=True)
class Tally:
    """One ticket as the report fold sees it now (router/report_facts.py `TicketFacts`)."""

    created: float
    queue: str
    route: str
    """"queue|priority|rule" as it was routed at creation (rule "" when the default did)."""
    channel: str = ""
    customer: str | None = None
    replies: list[tuple[int, float, str]] = field(default_factory=list)
    """Agents' replies that did not fail: (message id, at, agent)."""
    resolved: float | None = None
    assignee: str | None = None
    hold_start: float | None = None
    held: dict[str, float] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)
    repeat: bool = False
    """A customer's message came within FOLLOW_UP after the current resolution."""
    breached: bool = False
    """An SLA clock's breach is on its record (any clock's)."""
    missed: str = ""
    """The clocks breached, by their letters (`SLA_CLOCKS`), in order."""
    asked: float | None = None
    """When its customer first wrote: its creation for an ingest's, later for a follow-up's
    (its first response is counted from here). None in tallies saved before it was kept:
    their tickets' customers wrote at their creation."""

    @classmethod
    def created_by(cls, at: float, detail: Mapping[str, Detail]) -> Tally:
        queue, rule = detail.get("queue"), detail.get("rule")
        route = "|".join(
            (str(queue or ""), str(detail.get("priority") or "normal"),
             rule if isinstance(rule, str) else "")
        )  # fmt: skip
        channel = detail.get("channel")  # a follow-up's; an ingest's comes with its message
        return cls(
            at, queue if isinstance(queue, str) else "", route,
            channel if isinstance(channel, str) else "",
        )  # fmt: skip

    def add(self, kind: EventKind, actor: Actor, at: float, detail: Mapping[str, Detail]) -> None:
        """Fold one event of the ticket in (events come in sequence order)."""
        if kind is EventKind.MESSAGE_IN:
            channel = detail.get("channel")
            self.channel = self.channel or (channel if isinstance(channel, str) else "")
            if self.customer is None and actor.kind is ActorKind.CUSTOMER:
                self.customer = actor.name
            if self.asked is None and actor.kind is ActorKind.CUSTOMER:
                self.asked = at
        elif kind is EventKind.REPLY_OUT:
            self._reply(actor, at, detail.get("message_id"))
        elif kind is EventKind.DELIVERY and detail.get("status") in FAILED:
            self.replies = [r for r in self.replies if r[0] != detail.get("message_id")]
        elif kind is EventKind.QUEUE:
            to = detail.get("to")
            self.queue = to if isinstance(to, str) else ""
        elif kind in (EventKind.CUSTOMER_MERGED, EventKind.CUSTOMER_UNMERGED):
            self.customer = str(detail.get("to"))
        elif kind is EventKind.SLA_BREACH:
            self.breached = True
            self._missed(detail.get("metric"))
        self._move(kind, at, detail)

    def _missed(self, clock: object) -> None:
        letter = SLA_CLOCKS.get(clock) if isinstance(clock, str) else None
        if letter is not None and letter not in self.missed:
            self.missed = "".join(sorted(self.missed + letter))

    def _reply(self, actor: Actor, at: float, message_id: object) -> None:
        if actor.kind is not ActorKind.AGENT or not isinstance(message_id, int):
            return
        if self.customer is not None:  # before the customer wrote (a follow-up) it answers nothing
            self.replies.append((message_id, at, actor.name))
        self._handled_by(actor.name)

    def _handled_by(self, agent: str) -> None:
        if agent not in self.agents:
            self.agents.append(agent)
            self.agents.sort()

    def _move(self, kind: EventKind, at: float, detail: Mapping[str, Detail]) -> None:
        """Status and assignee, and the hold they make (report_facts.py `_move`)."""
        if kind is EventKind.STATUS:
            before = self.resolved
            self.resolved = (
                (before if before is not None else at) if detail.get("to") in DONE else None
            )
            if self.resolved != before:
                self.repeat = False  # a repeat contact is one after *this* resolution
        elif kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED):
            self._stop_hold(at)
            to = detail.get("to")
            self.assignee = to if isinstance(to, str) and to else None
            if self.assignee:
                self._handled_by(self.assignee)
        if self.resolved is not None:
            self._stop_hold(at)
        elif self.assignee and self.hold_start is None:
            self.hold_start = at

    def _stop_hold(self, at: float) -> None:
        if self.hold_start is not None and self.assignee:
            seconds = max(0.0, at - self.hold_start)
            self.held[self.assignee] = self.held.get(self.assignee, 0.0) + seconds
        self.hold_start = None

    def came_back(self, at: float) -> bool:
        """Whether a message of the customer at `at` makes this a repeat contact (now)."""
        return (
            not self.repeat
            and self.resolved is not None
            and self.resolved < at <= self.resolved + FOLLOW_UP
        )

    def first_response(self) -> tuple[float, str] | None:
        if not self.replies:
            return None
        _, at, agent = min(self.replies, key=lambda r: (r[1], r[2]))
        return at, agent

    def running(self) -> str | None:
        """The agent whose hold is still running, if one is."""
        return self.assignee if self.hold_start is not None and self.assignee else None

    def contribution(self) -> Contribution:
        """What this ticket adds to the cells of its creation periods."""
        q, ch = self.queue, self.channel
        out: Contribution = {
            (q, ch, "", "created"): (1, 0.0),
            (q, ch, "", "rt:" + self.route): (1, 0.0),
        }
        self._sla(out)
        first = self.first_response()
        if first is not None:
            asked = self.created if self.asked is None else self.asked
            _duration(out, (q, ch, ""), "f", first[0] - asked)
            _duration(out, (q, ch, first[1]), "a", first[0] - asked)
        if self.resolved is not None:
            _duration(out, (q, ch, ""), "r", self.resolved - self.created)
            if len(self.replies) == 1:
                out[(q, ch, "", "one_touch")] = (1, 0.0)
            if self.repeat:
                out[(q, ch, "", "repeat")] = (1, 0.0)
        running = self.running()
        for agent in self.agents:
            out[(q, ch, agent, "handled")] = (1, 0.0)
            if agent != running:
                _duration(out, (q, ch, agent), "h", self.held.get(agent, 0.0))
        # Each agent's figures once more under queue and channel "*": a report of every
        # queue reads those, not one cell per queue and channel.
        for (cq, _, agent, name), value in list(out.items()):
            if agent and cq != ANY:
                out[(ANY, ANY, agent, name)] = value
        return out

    def _sla(self, out: Contribution) -> None:
        """Its SLA route's breach: of any clock ("rb:"), and of each ("rm<letter>:")."""
        q, ch = self.queue, self.channel
        if self.breached:
            out[(q, ch, "", "rb:" + self.route)] = (1, 0.0)
        for letter in self.missed:
            out[(q, ch, "", f"rm{letter}:{self.route}")] = (1, 0.0)

    def to_json(self) -> str:
        return dumps(
            [self.created, self.queue, self.route, self.channel, self.customer, self.replies,
             self.resolved, self.assignee, self.hold_start, self.held, self.agents,
             self.repeat, self.breached, self.missed, self.asked],
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Tally:
        """A saved tally (one saved before `missed` was kept has none: the store's upgrade
        folds the record again, storage/sqlite/schema.py 21, storage/redis/rollups.py)."""
        v = loads(text)
        replies = [(int(r[0]), float(r[1]), str(r[2])) for r in v[5]]
        return cls(v[0], v[1], v[2], v[3], v[4], replies, *v[6:])


def _duration(out: Contribution, cell: tuple[str, str, str], name: str, seconds: float) -> None:
    """A duration: its histogram bin, with its count and total."""
    q, ch, agent = cell
    out[(q, ch, agent, f"{name}{wide_bin_of(seconds, bin_width(agent))}")] = (1, seconds)


def delta(before: Contribution, after: Contribution) -> Contribution:
    """What the cells gain when a ticket's contribution goes from `before` to `after`."""
    out: Contribution = {}
    for key in before.keys() | after.keys():
        n0, t0 = before.get(key, (0, 0.0))
        n1, t1 = after.get(key, (0, 0.0))
        if n0 != n1 or t0 != t1:
            out[key] = (n1 - n0, t1 - t0)
    return out


def event_time(at: datetime) -> float:
    return at.timestamp()


Span = tuple[str, float, int, int]
"""A cell period to read: (level, period start, the bucket it sums into, +1 or -1: a day
less its first hours is read as the day minus those hours)."""
RollupRow = tuple[int, str, str, str, int, float]
"""Summed cells: (bucket, key, agent, name, count, total); key "" unless split by one."""


class RunningHold(NamedTuple):
    """A hold still running: it counts up to the report's end. A tuple: a year's report
    reads every one (~135,000 in the benchmark), and a tuple is made three times faster."""

    created: float
    queue: str
    channel: str
    agent: str
    held: float
    """Seconds the agent held the ticket before this hold."""
    since: float


Bin = tuple[int, tuple[int, float]]
"""A histogram bin: its number, and the count and total of its values."""
HeldBin = tuple[str, int, int, float]
"""The running holds of one agent whose handle time at a report's end falls in one of the
agent's bins (`AGENT_BINS` fine bins wide): agent, bin, count, total."""


def held_at(hold: RunningHold, at: float) -> float:
    """A running hold's handle time at `at`: what it held before, and since it began."""
    ran = at - hold.since
    return hold.held + ran if ran > 0 else hold.held


def held_bins(values: Mapping[str, Iterable[float]]) -> list[HeldBin]:
    """Running holds' handle times at a report's end (`held_at`), by agent, in the agent's
    bins: what a summary adds to the cells' handle times (storage/sqlite/tally.py does the
    same in SQL)."""
    return [
        (agent, at_bin, count, total)
        for agent, mine in values.items()
        for at_bin, (count, total) in binned(mine, AGENT_BINS)
    ]


def binned(values: Iterable[float], width: int) -> list[Bin]:
    """Values counted into their bins (`width` fine bins wide): (bin, (count, total)) by bin.
    Sorted first, so a bin's number is computed where one may start, not for every value
    (a year's running holds are ~100,000)."""
    out: list[Bin] = []
    at, below, count, total = -1, -math.inf, 0, 0.0
    for value in sorted(values):
        if value >= below:
            mine = wide_bin_of(value, width)
            if mine != at:
                if count:
                    out.append((at, (count, total)))
                at, count, total = mine, 0, 0.0
                # A hair under the next bin's start: from there on each value is binned
                # until the bin changes, so a rounding at the edge cannot misplace one.
                below = bin_start(mine + 1, width) * (1 - 1e-9)
        count += 1
        total += value
    if count:
        out.append((at, (count, total)))
    return out


def running_hold(tally: Tally) -> RunningHold | None:
    agent = tally.running()
    if agent is None or tally.hold_start is None:
        return None
    return RunningHold(
        tally.created, tally.queue, tally.channel, agent, tally.held.get(agent, 0.0),
        tally.hold_start,
    )  # fmt: skip


Cells = dict[tuple[str, float, str, str, str, str], tuple[int, float]]
"""(level, period, queue, channel, agent, name) -> (count, total)."""


class Replay:
    """Tallies and cells built from a whole record at once (a store's backfill, and the
    tests' reference): the same fold as the commits', event by event in sequence order."""

    def __init__(self, calendar: Calendar = UTC_CELLS) -> None:
        self.calendar = calendar
        self.tallies: dict[int, Tally] = {}
        self._customers: dict[str, set[int]] = {}
        self.horizon = 0.0
        """The latest time of an event that could move a tally."""

    def add(
        self, ticket_id: int, kind: EventKind, actor: Actor, at: float,
        detail: Mapping[str, Detail],
    ) -> None:  # fmt: skip
        if kind in MOVES:
            self.horizon = max(self.horizon, at)
        if kind is EventKind.CREATED:
            self.tallies[ticket_id] = Tally.created_by(at, detail)
            return
        tally = self.tallies.get(ticket_id)
        if tally is None or kind not in MOVES:
            return
        before = tally.customer
        tally.add(kind, actor, at, detail)
        if tally.customer != before and tally.customer is not None:
            self._customers.setdefault(tally.customer, set()).add(ticket_id)
        if kind is EventKind.MESSAGE_IN and actor.kind is ActorKind.CUSTOMER:
            for other in self._customers.get(actor.name, ()):
                mine = self.tallies[other]
                if mine.customer == actor.name and mine.came_back(at):
                    mine.repeat = True

    def cells(self) -> Cells:
        out: Cells = {}
        for tally in self.tallies.values():
            add_cells(out, self.calendar.periods(tally.created), tally.contribution())
        return out


def add_cells(out: Cells, periods: Periods, change: Contribution) -> None:
    """Add a contribution (or a delta) to cells, at every level of its creation `periods`
    (`Calendar.periods` of its creation)."""
    for level, period in periods:
        for (queue, channel, agent, name), (n, total) in change.items():
            key = (level, period, queue, channel, agent, name)
            n0, t0 = out.get(key, (0, 0.0))
            out[key] = (n0 + n, t0 + total)
