"""Report rollups on SQLite (core/tally.py): each ticket's tally and the cells (tables made by
migration 17, filled from the record by 21, when the tallies began to keep which SLA clocks
were breached).

`fold` runs inside the writer's transaction, called by `record.record`/`record_all` with the
events they append, so a change, its events and the cells that count it commit together.
A customer's message also marks their other tickets resolved within the last 72 hours as
repeat contacts (an index of resolved tallies by customer finds them).
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

from core.json_text import dumps, loads
from core.periods import Calendar
from core.record import Actor, ActorKind, Detail, EventKind
from core.tally import (
    AGENT_BINS,
    AGENTS,
    AGENTS_BY_QUEUE,
    FOLLOW_UP,
    LOG_RATIO,
    MOVES,
    TICKETS,
    VOLUME,
    Cells,
    Contribution,
    HeldBin,
    Replay,
    RollupRow,
    Span,
    Tally,
    add_cells,
    delta,
    kind_of,
    running_hold,
)

Event = tuple[EventKind, Actor, float, Mapping[str, Detail]]

TABLES = """
CREATE TABLE report_tallies (
    ticket_id INTEGER PRIMARY KEY,
    customer  TEXT,
    resolved  REAL,
    repeat    INTEGER NOT NULL DEFAULT 0,
    running   INTEGER NOT NULL DEFAULT 0,
    state     TEXT NOT NULL                 -- core.tally.Tally as JSON
);
CREATE INDEX report_tallies_comeback ON report_tallies(customer, resolved)
    WHERE resolved IS NOT NULL AND repeat = 0;
CREATE TABLE report_cells (
    level   TEXT NOT NULL,                  -- h, d, m: the UTC hour, day, month of creation
    period  REAL NOT NULL,                  -- its start (epoch seconds)
    kind    TEXT NOT NULL,                  -- what reads it (core.tally.kind_of)
    queue   TEXT NOT NULL,
    channel TEXT NOT NULL,
    agent   TEXT NOT NULL,                  -- '' for the tickets' own figures
    name    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    total   REAL NOT NULL,
    PRIMARY KEY (level, period, kind, queue, channel, agent, name)
) WITHOUT ROWID;
CREATE TABLE report_horizon (at REAL NOT NULL);  -- one row: the latest event the cells count
CREATE TABLE report_holds (                 -- holds still running (core.tally.RunningHold)
    ticket_id INTEGER PRIMARY KEY,
    created   REAL NOT NULL,
    queue     TEXT NOT NULL,
    channel   TEXT NOT NULL,
    agent     TEXT NOT NULL,
    held      REAL NOT NULL,
    since     REAL NOT NULL
);
CREATE INDEX report_holds_created ON report_holds(created);
"""
# Plain INSERTs and one-row UPDATEs only: an upsert or a REPLACE runs under a statement
# journal, and opening one makes FTS5 flush the words it holds (README, migration 14).
_ADD = (
    "UPDATE report_cells SET n = n + ?, total = total + ? WHERE level = ? AND period = ? "
    "AND kind = ? AND queue = ? AND channel = ? AND agent = ? AND name = ?"
)
_NEW = "INSERT INTO report_cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT = "INSERT INTO report_tallies VALUES (?, ?, ?, ?, ?, ?)"
_HOLD = "INSERT INTO report_holds VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPDATE = (
    "UPDATE report_tallies SET customer = ?2, resolved = ?3, repeat = ?4, running = ?5, "
    "state = ?6 WHERE ticket_id = ?1"
)


def migration(db: sqlite3.Connection) -> None:
    """The tables (migration 17), empty: migration 21 fills them."""
    for statement in TABLES.split(";"):
        if statement.strip():
            db.execute(statement)


def refill(db: sqlite3.Connection) -> None:
    """The tallies, cells and holds folded from the record as it stands, by the cells'
    calendar (migration 21): a store from before 17 has none, and tallies saved from 17 to
    20 do not say which clocks were breached."""
    for table in ("report_tallies", "report_cells", "report_holds", "report_horizon"):
        db.execute(f"DELETE FROM {table}")  # noqa: S608  # the four names above
    (zone,) = db.execute("SELECT zone FROM report_calendar").fetchone()
    replay = Replay(Calendar(zone))
    rows = db.execute("SELECT ticket_id, kind, actor, at, detail FROM ticket_events ORDER BY seq")
    for ticket_id, kind, actor, at, detail in rows:
        if kind in _MOVING:
            replay.add(ticket_id, _MOVING[kind], Actor.parse(actor), at, loads(detail))
    db.executemany(_INSERT, (_row(tid, t) for tid, t in replay.tallies.items()))
    db.executemany(_NEW, (_keyed(key) + value for key, value in replay.cells().items()))
    db.execute("INSERT INTO report_horizon VALUES (?)", (replay.horizon,))
    holds = (_hold(tid, t) for tid, t in replay.tallies.items())
    db.executemany(_HOLD, (hold for hold in holds if hold is not None))


_MOVING = {str(kind): kind for kind in MOVES}


def fold(db: sqlite3.Connection, ticket_id: int, events: Sequence[Event]) -> None:
    """Fold a ticket's new events into its tally and the cells (in the writer's transaction)."""
    moving = [e for e in events if e[0] in MOVES]
    if not moving:
        return
    _horizon(db, max(e[2] for e in moving))
    tally, before = _load(db, ticket_id, moving[0])
    if tally is None:
        return  # its `created` is not in this store's record: nothing counts it
    new = not before
    for kind, actor, at, detail in moving:
        if kind is EventKind.CREATED:
            continue
        tally.add(kind, actor, at, detail)
        if kind is EventKind.MESSAGE_IN and actor.kind is ActorKind.CUSTOMER:
            _came_back(db, actor.name, at, ticket_id)
            tally.repeat = tally.repeat or (tally.customer == actor.name and tally.came_back(at))
    _save(db, ticket_id, tally, before, new=new)


def _load(
    db: sqlite3.Connection, ticket_id: int, first: Event
) -> tuple[Tally | None, Contribution]:
    kind, _, at, detail = first
    if kind is EventKind.CREATED:
        return Tally.created_by(at, detail), {}  # a new ticket: it has no tally to read
    batch = _BATCHES.get(id(db))
    pending = None if batch is None else batch.tallies.get(ticket_id)
    if pending is not None:  # changed earlier in this transaction: not written yet
        return pending.tally, pending.tally.contribution()
    row = db.execute(
        "SELECT state FROM report_tallies WHERE ticket_id = ?", (ticket_id,)
    ).fetchone()
    if row is None:
        return None, {}
    tally = Tally.from_json(row[0])
    return tally, tally.contribution()


def customer_made(db: sqlite3.Connection, customer_id: int) -> None:
    """A customer was made in the writer's transaction on `db` (see `Batch.made`)."""
    batch = _BATCHES.get(id(db))
    if batch is not None:
        batch.made.add(str(customer_id))


def _came_back(db: sqlite3.Connection, customer: str, at: float, skip: int) -> None:
    """The customer wrote at `at`: their other tickets resolved in the 72 h before are
    repeat contacts."""
    batch = _BATCHES.get(id(db))
    made_now = batch is not None and customer in batch.made  # none of theirs written yet
    rows = [] if made_now else _resolved_rows(db, customer, at, skip)
    pending = {} if batch is None else batch.tallies
    # A tally changed earlier in this transaction is as it is pending, not as its row says.
    found = {tid: Tally.from_json(state) for tid, state in rows if tid not in pending}
    resolved = () if batch is None else batch.resolved.get(customer, ())
    for ticket_id in resolved:
        t = pending[ticket_id].tally
        if ticket_id != skip and t.customer == customer and t.came_back(at):
            found[ticket_id] = t
    for ticket_id, tally in found.items():
        before = tally.contribution()
        tally.repeat = True
        _save(db, ticket_id, tally, before)


def _resolved_rows(
    db: sqlite3.Connection, customer: str, at: float, skip: int
) -> list[tuple[int, str]]:
    """The written tallies of the customer's other tickets resolved in the 72 h before `at`
    and not yet counted as repeat contacts."""
    return db.execute(
        "SELECT ticket_id, state FROM report_tallies WHERE customer = ? AND resolved >= ? "
        "AND resolved < ? AND repeat = 0 AND ticket_id <> ?",
        (customer, at - FOLLOW_UP, at, skip),
    ).fetchall()


def _save(
    db: sqlite3.Connection, ticket_id: int, tally: Tally, before: Contribution, *, new: bool = False
) -> None:
    after = tally.contribution()
    change = after if new else delta(before, after)  # a new ticket had nothing to take back
    batch = _BATCHES.get(id(db))
    kept = Batch() if batch is None else batch  # outside the writer's: written at once
    kept.keep(ticket_id, tally, new=new, held=any(key[3] == "handled" for key in before))
    add_cells(kept.cells, kept.calendar_of(db).periods(tally.created), change)
    if batch is None:
        kept.flush(db)


def _hold(ticket_id: int, tally: Tally) -> tuple[object, ...] | None:
    hold = running_hold(tally)
    if hold is None:
        return None
    return (ticket_id, hold.created, hold.queue, hold.channel, hold.agent, hold.held, hold.since)


def _row(ticket_id: int, tally: Tally) -> tuple[object, ...]:
    running = tally.running() is not None
    return (ticket_id, tally.customer, tally.resolved, tally.repeat, running, tally.to_json())


class Batch:
    """The cells and horizon that a writer's transaction's folds add, summed and written
    once just before its COMMIT (`flush`): the jobs of one group commit mostly count in the
    same hours, days and months, so 64 new contacts write their `created` cells once, not 64
    times. The writer opens one after BEGIN and drops it after COMMIT or ROLLBACK; a fold
    outside one (the tests' own connections) writes at once."""

    def __init__(self) -> None:
        self.cells: Cells = {}
        self.horizon = -math.inf
        self.tallies: dict[int, Kept] = {}
        self.resolved: dict[str, set[int]] = {}
        """Customer -> the kept tallies that were resolved for them (some may not be now):
        where a customer's message looks for repeat contacts among the kept ones."""
        self.made: set[str] = set()
        """Customers made in this transaction: no tally of theirs is written yet, so their
        messages look for repeat contacts among the kept ones only (a new customer's first
        contact reads no row; ids are never reused, no customer row is ever deleted)."""
        self._calendar: Calendar | None = None

    def calendar_of(self, db: sqlite3.Connection) -> Calendar:
        """The store's calendar, read once per transaction (a command may have changed it)."""
        if self._calendar is None:
            self._calendar = calendar(db)
        return self._calendar

    def keep(self, ticket_id: int, tally: Tally, *, new: bool, held: bool) -> None:
        """A ticket's tally as this transaction leaves it, written at the flush."""
        if tally.customer is not None and tally.resolved is not None:
            self.resolved.setdefault(tally.customer, set()).add(ticket_id)
        kept = self.tallies.get(ticket_id)
        if kept is None:
            self.tallies[ticket_id] = Kept(tally, new, held)
        else:  # changed again: still new if it was, and its old hold row still to go
            self.tallies[ticket_id] = Kept(tally, kept.new, kept.held or held)

    def flush(self, db: sqlite3.Connection) -> None:
        if self.horizon > -math.inf:
            _write_horizon(db, self.horizon)
        self._write_tallies(db)
        _write_cells(db, {key: value for key, value in self.cells.items() if value != (0, 0.0)})
        self.cells, self.horizon, self.tallies, self.resolved = {}, -math.inf, {}, {}
        self.made = set()
        self._calendar = None

    def _write_tallies(self, db: sqlite3.Connection) -> None:
        """Each changed ticket's row and running hold, a statement per kind for them all."""
        kept = self.tallies.items()
        db.executemany(_INSERT, [_row(tid, k.tally) for tid, k in kept if k.new])
        db.executemany(_UPDATE, [_row(tid, k.tally) for tid, k in kept if not k.new])
        # Plain DELETE and INSERT by key (a REPLACE would open a statement journal: see _ADD).
        gone = [(tid,) for tid, k in kept if k.held and not k.new]
        db.executemany("DELETE FROM report_holds WHERE ticket_id = ?", gone)
        holds = (_hold(tid, k.tally) for tid, k in kept)
        db.executemany(_HOLD, [hold for hold in holds if hold is not None])


class Kept(NamedTuple):
    """A tally changed in a transaction: `new` when it has no row yet, `held` when its
    row in report_holds (a hold running before) must go."""

    tally: Tally
    new: bool
    held: bool


_BATCHES: dict[int, Batch] = {}
"""The open batch of each writer connection, by id(connection)."""


@contextlib.contextmanager
def batched(db: sqlite3.Connection) -> Iterator[Batch]:
    """Folds on `db` gather their cells in the batch until it is flushed or dropped."""
    batch = _BATCHES[id(db)] = Batch()
    try:
        yield batch
    finally:
        _BATCHES.pop(id(db), None)


def _horizon(db: sqlite3.Connection, at: float) -> None:
    batch = _BATCHES.get(id(db))
    if batch is None:
        _write_horizon(db, at)
    elif at > batch.horizon:
        batch.horizon = at


def _write_horizon(db: sqlite3.Connection, at: float) -> None:
    db.execute("UPDATE report_horizon SET at = ?1 WHERE rowid = 1 AND at < ?1", (at,))


def _write_cells(db: sqlite3.Connection, cells: Cells) -> None:
    for key, (n, total) in cells.items():
        keyed = _keyed(key)
        if not db.execute(_ADD, (n, total, *keyed)).rowcount:
            db.execute(_NEW, (*keyed, n, total))


def _keyed(key: tuple[str, float, str, str, str, str]) -> tuple[object, ...]:
    """A cell's key with its kind after the period."""
    level, period, queue, channel, agent, name = key
    return (level, period, kind_of(queue, agent, name), queue, channel, agent, name)


def rollup(
    db: sqlite3.Connection, spans: Sequence[Span], by: str | None,
    where: tuple[str | None, str | None], kinds: Sequence[str],
) -> list[RollupRow]:  # fmt: skip
    """The cells of `spans` and `kinds`, times their signs, summed by bucket, key, agent and
    name (in SQL)."""
    key = {"queue": "c.queue", "channel": "c.channel"}.get(by or "", "''")
    among = ", ".join(f"'{kind}'" for kind in kinds if kind in KINDS)
    # The spans read out of their JSON once (MATERIALIZED): joined straight, each cell's
    # row parsed its span's JSON again, about a quarter of a year's series.
    # key and kinds are our constants; the values are bound
    sql = (
        "WITH s AS MATERIALIZED (SELECT value ->> 0 AS level, value ->> 1 AS period, "  # noqa: S608
        "value ->> 2 AS bucket, value ->> 3 AS sign FROM json_each(?1)) "
        f"SELECT s.bucket, {key}, c.agent, c.name, sum(c.n * s.sign), sum(c.total * s.sign) "
        "FROM s JOIN report_cells AS c "
        f"ON c.level = s.level AND c.period = s.period AND c.kind IN ({among}) "
        "WHERE (?2 IS NULL OR c.queue = ?2) AND (?3 IS NULL OR c.channel = ?3) "
        "GROUP BY 1, 2, 3, 4"
    )
    rows = db.execute(sql, (dumps(spans), *where)).fetchall()
    return [tuple(row) for row in rows]


KINDS = frozenset((VOLUME, TICKETS, AGENTS, AGENTS_BY_QUEUE))


def calendar(db: sqlite3.Connection) -> Calendar:
    """The store's calendar (its zone checked by Calendar.of when it was set)."""
    return Calendar(db.execute("SELECT zone FROM report_calendar").fetchone()[0])


def set_calendar(db: sqlite3.Connection, chosen: Calendar) -> None:
    """Keep the cells by `chosen`: summed again from every ticket's tally (the tallies and
    running holds do not depend on it), in the writer's one transaction."""
    batch = _BATCHES.get(id(db))
    if batch is not None:  # what this commit's earlier jobs changed, by the old calendar
        batch.flush(db)
    db.execute("UPDATE report_calendar SET zone = ?", (chosen.zone,))
    db.execute("DELETE FROM report_cells")
    cells: Cells = {}
    for (state,) in db.execute("SELECT state FROM report_tallies"):
        tally = Tally.from_json(state)
        add_cells(cells, chosen.periods(tally.created), tally.contribution())
    kept = {key: value for key, value in cells.items() if value != (0, 0.0)}
    db.executemany(_NEW, (_keyed(key) + value for key, value in kept.items()))


def horizon(db: sqlite3.Connection) -> float:
    return float(db.execute("SELECT at FROM report_horizon").fetchone()[0])


_HELD_BINS = """
SELECT agent, CASE WHEN v < 1 THEN 0 ELSE (CAST(floor(ln(v) / :ratio) AS INTEGER) + :width)
       / :width END, count(*), sum(v)
FROM (SELECT agent, held + max(:at - since, 0) AS v FROM report_holds
      WHERE created >= :start AND created < :end
        AND (:queue IS NULL OR queue = :queue) AND (:channel IS NULL OR channel = :channel))
GROUP BY 1, 2
"""
"""core.tally.held_bins in SQL: wide_bin_of(v, AGENT_BINS) with the same libm log, so each
hold lands in the bin Python would put it in (a year's report reads ~135,000 holds: summed
here, not sent to Python one row at a time)."""


def held_bins(
    db: sqlite3.Connection, created: tuple[float, float], at: float,
    where: tuple[str | None, str | None],
) -> list[HeldBin]:  # fmt: skip
    start, end = created
    found = db.execute(
        _HELD_BINS,
        {"start": start, "end": end, "at": at, "queue": where[0], "channel": where[1],
         "ratio": LOG_RATIO, "width": AGENT_BINS},
    )  # fmt: skip
    return [(agent, at_bin, n, total) for agent, at_bin, n, total in found]


def tallies(db: sqlite3.Connection) -> dict[int, Tally]:
    """Every ticket's tally (the contract tests compare them with a replay of the record)."""
    rows: Iterable[tuple[int, str]] = db.execute("SELECT ticket_id, state FROM report_tallies")
    return {ticket_id: Tally.from_json(state) for ticket_id, state in rows}
