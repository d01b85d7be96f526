"""The embedded store: one SQLite file in WAL mode, safe for concurrent requests.

Writes go to one writer that owns the only writing connection. It takes the jobs waiting in
its queue (up to `max_batch`), runs their SQL on the event loop's thread in a single
`BEGIN IMMEDIATE` transaction and commits them together (group commit): with
`synchronous=FULL` the fsync, not the SQL, is the cost of a commit, and sharing it is how the
hub passes the fsync wall without acknowledging anything before it is on disk. A job's result
is delivered only after the shared COMMIT returned. Reads run on a small pool of read-only
connections, one per thread, each read inside a deferred transaction, so a ticket and its
messages come from one snapshot.

URL: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``, with optional query
parameters ``synchronous`` (full | normal, default full), ``max_batch`` (jobs per commit,
default 256), ``commit_delay_ms`` (the wait for company, `_Writer._company`; default 1) and
``max_size_mb`` (a cap; writes past it fail as StorageUnavailable).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, TypeVarTuple

from core.customers import CustomerChange, CustomerMerge, CustomerQuery
from core.deadlines import Deadline, SlaMarks
from core.errors import ConfigError, StorageUnavailable
from core.model import (
    Customer,
    Delivery,
    Inbound,
    IngestResult,
    Message,
    Page,
    Place,
    QueueStats,
    Replay,
    Router,
    RulesVersion,
    ThreadPolicy,
    Ticket,
    TicketChange,
    TicketFilter,
    Via,
)
from core.periods import Calendar
from core.record import Actor, TicketEvent
from core.retention import Erasure, Purge
from core.tally import HeldBin, RollupRow, Span
from storage.sqlite import changes as ch
from storage.sqlite import customers, merges, rate, retention, tally
from storage.sqlite import deadlines as dl
from storage.sqlite import outbound as out
from storage.sqlite import queries as q
from storage.sqlite import record as rec
from storage.sqlite.campaign_store import SqliteCampaigns
from storage.sqlite.checkpoint import Checkpointer
from storage.sqlite.follow_ups import open_follow_up
from storage.sqlite.ingest import commit_inbound
from storage.sqlite.open_lock import OpenLock
from storage.sqlite.options import BUSY_TIMEOUT_MS, SqliteOptions, connect, translate
from storage.sqlite.people_store import SqlitePeople
from storage.sqlite.schema import migrate
from storage.sqlite.write_lock import WriteLock

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
CHECKPOINT_INTERVAL = 0.25  # seconds between WAL checkpoints
OTHERS_POLL = 0.05
"""How often a waiter for events looks for another process's commits (the writer wakes it
for this process's own): 20 small reads a second while a live stream is open, for events of
the other workers within 50 ms instead of the feed's idle second."""

QUEUE_AFTER_CONTENTION = 1.0
"""Seconds a writer that met another one begins in the kernel's queue only (`_begin_now`)."""


@dataclass(slots=True)
class _Job(Generic[T]):
    """An operation waiting for its batch; its result is held until the batch commits."""

    op: Callable[..., T]  # `_Writer.write` checked the arguments against it
    args: tuple[object, ...]
    future: asyncio.Future[T]
    result: T | None = None
    error: BaseException | None = None


class _Writer:
    """The one writing connection, committing jobs in groups.

    The jobs' SQL runs on the event loop's thread: it is short CPU work, and running it on
    a thread of its own made the two threads trade the GIL at every statement (the sqlite3
    module releases it around each step), which cost 4x the work itself. Only the calls
    that wait, BEGIN IMMEDIATE (another process may hold the lock) and COMMIT (the fsync),
    go to a thread, and while a COMMIT waits on the disk the loop gathers the next batch.
    """

    def __init__(self, options: SqliteOptions) -> None:
        self._options = options
        self._lock = WriteLock(
            options.path
        )  # other processes' writers (storage/sqlite/write_lock.py)
        self._queue_until = 0.0  # monotonic time before which BEGIN waits in the queue
        self._io = ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")
        self._pending: list[_Job[Any]] = []  # operations of every result type wait together
        self._committing = False
        self._crowded = False  # jobs came while a transaction committed
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._db: sqlite3.Connection | None = None
        self.alive = False
        self.committed = asyncio.Event()
        """Set, and replaced by a fresh one, after every commit: the live stream's wake-up."""
        self.transactions = 0
        """Group commits made (whether their jobs succeeded or not)."""

    async def start(self) -> None:
        try:
            self._db = await self._blocking(self._open)
        except (sqlite3.Error, OSError) as exc:
            self._io.shutdown()
            raise ConfigError(f"cannot open {self._options.path}: {exc}") from exc
        self.alive = True
        self._task = asyncio.create_task(self._run(self._db), name="sqlite-writer")

    async def stop(self) -> None:
        """Commit what was submitted, then close."""
        if not self.alive:
            return
        self.alive = False
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._db is not None:
            await self._blocking(self._db.close)
        self._io.shutdown()
        self._lock.close()

    async def write(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        """`op(db, *args)` in the next batch: its result once that batch is committed.

        Arguments are positional only: keyword ones would cost every job a dict."""
        if not self.alive:
            raise StorageUnavailable("storage is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(op, args, future))
        self._crowded = self._crowded or self._committing
        self._wakeup.set()
        return await future

    def _open(self) -> sqlite3.Connection:
        db = connect(self._options)
        migrate(db)
        self._lock.open()
        return db

    async def _blocking(self, call: Callable[[*Ts], T], *args: *Ts) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, call, *args)

    async def _run(self, db: sqlite3.Connection) -> None:
        while self.alive or self._pending:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._company()
            size = self._options.max_batch
            batch, self._pending = self._pending[:size], self._pending[size:]
            if self._pending:
                self._wakeup.set()
            if batch:
                self._committing, self._crowded = True, False
                try:
                    await self._commit(db, batch)
                finally:
                    self._committing = False
                    self.transactions += 1
                _settle(batch)
                self.committed, committed = asyncio.Event(), self.committed
                committed.set()

    async def _company(self) -> None:
        """Wait `commit_delay` for more jobs when some came while the last transaction
        committed: a stream of contacts from many callers, not one caller's writes in
        turn (those never come during a commit: each waits for the last). A transaction
        costs ~500 µs of CPU besides its jobs (BEGIN, the cells, the hop to the commit
        thread and back, the WAL's frames, the fsync); at a few hundred contacts a second
        it carried one or two, so each paid nearly all of it, and the hub ran near a full
        core at a third of the rate it reaches under wrk. Waiting a millisecond for
        company, as PostgreSQL's commit_delay and MySQL's binlog_group_commit_sync_delay
        do, shares it among more; nobody waits when nobody else writes."""
        delay = self._options.commit_delay
        if (
            self._crowded
            and delay > 0
            and self.alive
            and len(self._pending) < self._options.max_batch
        ):
            await asyncio.sleep(delay)

    async def _commit(self, db: sqlite3.Connection, batch: list[_Job[Any]]) -> None:
        """All jobs in one transaction. When one fails, the batch is rolled back and each job
        runs alone, so a bad job costs its neighbours an fsync each, never their write."""
        try:
            culprit = await self._transaction(db, batch)
            if culprit is not None and len(batch) > 1:
                for job in batch:
                    await self._transaction(db, [job])
        except sqlite3.Error as exc:  # BEGIN or COMMIT failed: the store itself is in trouble
            failure = translate(exc)
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, failure

    async def _transaction(self, db: sqlite3.Connection, jobs: list[_Job[Any]]) -> _Job[Any] | None:
        """Run jobs in one transaction and commit; on a job's failure roll back, return it.
        The report cells the jobs' folds add are written once, before the COMMIT."""
        if not self._begin_now(db):
            await self._blocking(self._begin, db)
        try:
            with tally.batched(db) as cells:
                return await self._run_jobs(db, jobs, cells)
        finally:
            self._lock.release()

    def _begin_now(self, db: sqlite3.Connection) -> bool:
        """BEGIN on the loop's thread when no writer holds the database: whether it began.
        The hop to the commit thread and back cost more than the BEGIN (the GIL handed over
        twice, ~100 µs of CPU per transaction: at the one or two contacts a commit of
        ordinary load, a sixth of the ingest's). Without waiting: another hub holding the
        lock, or a writer that does not take it (SQLite's busy answer at once, its busy
        timeout off for this BEGIN), leave it to `_begin` in the thread, which waits.

        A lock taken without waiting jumps the kernel's queue, where a writer woken by
        our release would have had it: so a writer that met another one queues for
        `QUEUE_AFTER_CONTENTION` (workers sharing a file under load stay fair)."""
        if time.monotonic() < self._queue_until:
            return False
        if not self._lock.try_acquire():
            self._queue_until = time.monotonic() + QUEUE_AFTER_CONTENTION
            return False
        try:
            db.execute("PRAGMA busy_timeout = 0")
            try:
                db.execute("BEGIN IMMEDIATE")
            finally:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.OperationalError:
            if db.in_transaction:  # began, then the busy timeout could not be put back
                db.execute("ROLLBACK")
            self._lock.release()
            self._queue_until = time.monotonic() + QUEUE_AFTER_CONTENTION
            return False
        except BaseException:
            self._lock.release()
            raise
        return True

    def _begin(self, db: sqlite3.Connection) -> None:
        self._lock.acquire()
        try:
            db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    async def _run_jobs(
        self, db: sqlite3.Connection, jobs: list[_Job[Any]], cells: tally.Batch
    ) -> _Job[Any] | None:
        for job in jobs:
            job.result, job.error = None, None
            try:
                job.result = job.op(db, *job.args)
            except Exception as exc:  # noqa: BLE001  # any job's failure must undo its writes
                job.error = translate(exc) if isinstance(exc, sqlite3.Error) else exc
                if db.in_transaction:  # SQLite may already have rolled back (disk full, I/O)
                    await self._blocking(db.execute, "ROLLBACK")
                return job
        try:
            cells.flush(db)
            await self._blocking(db.execute, "COMMIT")
        except sqlite3.Error:
            if db.in_transaction:
                await self._blocking(db.execute, "ROLLBACK")
            raise
        return None


def _settle(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        if job.future.done():  # the caller went away; the write stands and dedupe holds
            continue
        if job.error is None:
            job.future.set_result(job.result)
        else:
            job.future.set_exception(job.error)


class _Readers:
    """Read-only connections, one per pool thread, each read in its own snapshot."""

    def __init__(self, options: SqliteOptions, threads: int = 2) -> None:
        self._options = options
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._inline: sqlite3.Connection | None = None  # read_now's, on the loop's thread

    async def read(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        """`op(db, *args)` on a reader thread, in one snapshot."""
        if self._closed:
            raise StorageUnavailable("storage is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(self._read, op, *args))

    def read_now(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        """`op(db, *args)` on the caller's thread (the event loop's), for a lookup by key
        on the hot path: a WAL reader never waits for the writer, and the hop to a pool
        thread and back cost more than the lookup (an SMS's opt-out check: 5 % of the
        hub's CPU per message, most of it handing the GIL over)."""
        if self._closed:
            raise StorageUnavailable("storage is closed")
        if self._inline is None:
            self._inline = connect(self._options, readonly=True)
            with self._lock:
                self._connections.append(self._inline)
        try:
            return op(self._inline, *args)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def _read(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        try:
            db = self._connection()
            db.execute("BEGIN")
            try:
                return op(db, *args)
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = connect(self._options, readonly=True)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True)
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()


class SqliteStore(SqliteCampaigns, SqlitePeople):
    """The Store protocol on one SQLite file (campaigns: campaign_store.py; people and
    offers: people_store.py)."""

    _writer: _Writer  # the mixin's Protocols name only what campaigns call
    _readers: _Readers

    def __init__(self, url: str) -> None:
        self.options = SqliteOptions.from_url(url)
        self._writer = _Writer(self.options)
        self._readers = _Readers(self.options)
        self._checkpointer = Checkpointer(lambda: connect(self.options), CHECKPOINT_INTERVAL)
        self._open_lock = OpenLock(self.options.path)  # a restore must wait for close

    async def open(self) -> None:
        folder = self.options.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a mistyped path: said as the config's fault, not a traceback
            raise ConfigError(
                f"cannot make the database's folder {folder}: {exc.strerror}"
            ) from exc
        self._open_lock.share()
        self._writer = _Writer(self.options)  # fresh threads: a closed store may be reopened
        self._readers = _Readers(self.options)
        try:
            await self._writer.start()
        except BaseException:
            self._open_lock.release()
            raise
        self._checkpointer = Checkpointer(lambda: connect(self.options), CHECKPOINT_INTERVAL)
        self._checkpointer.start()

    async def close(self) -> None:
        await self._checkpointer.stop()
        await self._writer.stop()
        await asyncio.to_thread(self._readers.close)
        self._open_lock.release()

    @property
    def transactions(self) -> int:
        """The writer's group commits since the store opened."""
        return self._writer.transactions

    async def ping(self) -> None:
        if not self._writer.alive:
            raise StorageUnavailable("storage is closed")
        await self._readers.read(lambda db: db.execute("SELECT 1").fetchone())

    async def commit_inbound(
        self, inbound: Inbound, router: Router, policy: ThreadPolicy
    ) -> IngestResult:
        return await self._writer.write(commit_inbound, inbound, router, policy)

    async def get_ticket(self, ticket_id: int) -> Ticket:
        return await self._readers.read(q.get_ticket, ticket_id)

    async def ticket_places(self, ticket_ids: Sequence[int]) -> dict[int, Place]:
        return await self._readers.read(q.ticket_places, ticket_ids)

    async def list_tickets(
        self, where: TicketFilter, limit: int = 50, cursor: str | None = None
    ) -> Page[Ticket]:
        return await self._readers.read(q.list_tickets, where, limit, cursor)

    async def update_ticket(self, ticket_id: int, change: TicketChange, now: datetime) -> Ticket:
        return await self._writer.write(ch.update_ticket, ticket_id, change, now)

    async def claim_next(
        self, queue: str, assignee: str, now: datetime, ticket_id: int | None = None
    ) -> Ticket | None:
        return await self._writer.write(ch.claim_next, queue, assignee, now, ticket_id)

    async def open_follow_up(self, ticket_id: int, agent: str, now: datetime) -> Ticket:
        return await self._writer.write(open_follow_up, ticket_id, agent, now)

    async def append_outbound(
        self,
        ticket_id: int,
        body: str,
        author: str,
        now: datetime,
        via: Via | None = None,
        sla: SlaMarks | None = None,
    ) -> Message:
        return await self._writer.write(ch.append_outbound, ticket_id, body, author, now, via, sla)

    async def add_note(self, ticket_id: int, body: str, actor: Actor, now: datetime) -> TicketEvent:
        return await self._writer.write(ch.add_note, ticket_id, body, actor, now)

    async def ticket_events(self, ticket_id: int) -> list[TicketEvent]:
        return await self._readers.read(rec.ticket_events, ticket_id)

    async def events_after(self, seq: int, limit: int = 500) -> list[TicketEvent]:
        return await self._readers.read(rec.events_after, seq, limit)

    async def last_event_seq(self) -> int:
        return await self._readers.read(rec.last_event_seq)

    async def event_seq_at(self, at: datetime) -> int:
        return await self._readers.read(rec.event_seq_at, at.timestamp())

    async def rollup(
        self, spans: Sequence[Span], by: str | None, queue: str | None, channel: str | None,
        *, kinds: Sequence[str],
    ) -> list[RollupRow]:  # fmt: skip
        return await self._readers.read(tally.rollup, spans, by, (queue, channel), kinds)

    async def held_bins(
        self, start: float, end: float, at: float, queue: str | None, channel: str | None
    ) -> list[HeldBin]:
        return await self._readers.read(tally.held_bins, (start, end), at, (queue, channel))

    async def rollup_horizon(self) -> float | None:
        return await self._readers.read(tally.horizon)  # filled in the migration's commit

    async def report_calendar(self) -> Calendar:
        return await self._readers.read(tally.calendar)

    async def set_report_calendar(self, calendar: Calendar) -> None:
        await self._writer.write(tally.set_calendar, calendar)

    async def wait_for_events(self, after: int, within: float) -> None:
        # Every write of this process goes through the writer, which wakes us after each
        # commit; another process writing the file (a worker of `serve --workers`) is
        # looked for every OTHERS_POLL seconds: a read of the newest number, while waiting.
        committed = self._writer.committed  # taken before the check: no commit slips between
        if await self.last_event_seq() > after:
            return
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(committed.wait(), min(left, OTHERS_POLL))
            except TimeoutError:
                if await self.last_event_seq() > after:
                    return
            else:
                return

    async def record_delivery(self, message_id: int, delivery: Delivery) -> Message:
        return await self._writer.write(out.record_delivery, message_id, delivery)

    async def update_delivery(
        self, channel: str, provider_id: str, delivery: Delivery
    ) -> Message | None:
        return await self._writer.write(out.update_delivery, channel, provider_id, delivery)

    async def edit_message(self, key: str, body: str | None, at: datetime) -> Message | None:
        return await self._writer.write(out.edit_message, key, body, at)

    async def set_sms_opt_out(self, identity_key: str, opted_out: bool, at: datetime) -> None:
        await self._writer.write(out.set_sms_opt_out, identity_key, opted_out, at)

    async def sms_opted_out(self, identity_key: str) -> bool:
        return self._readers.read_now(out.sms_opted_out, identity_key)

    async def set_deadlines(self, ticket_id: int, deadlines: Sequence[Deadline]) -> None:
        await self._writer.write(dl.set_deadlines, ticket_id, deadlines)

    async def set_sla(self, ticket_id: int, marks: SlaMarks) -> bool:
        return await self._writer.write(dl.set_sla, ticket_id, marks)

    async def claim_deadlines(
        self, now: datetime, lease: timedelta, limit: int = 100
    ) -> list[Deadline]:
        until = (now + lease).timestamp()
        return await self._writer.write(dl.claim_deadlines, now.timestamp(), until, limit)

    async def finish_deadline(self, deadline: Deadline) -> None:
        await self._writer.write(dl.finish_deadline, deadline)

    async def get_checkpoint(self, name: str) -> str | None:
        return await self._readers.read(out.get_checkpoint, name)

    async def set_checkpoint(self, name: str, value: str) -> None:
        await self._writer.write(out.set_checkpoint, name, value)

    async def take_rate_slot(self, key: str, limit: int, window: timedelta, now: datetime) -> bool:
        seconds = window.total_seconds()
        return await self._writer.write(rate.take_rate_slot, key, limit, seconds, now.timestamp())

    async def queue_stats(self) -> list[QueueStats]:
        return await self._readers.read(q.queue_stats)

    async def queue_depth(self, queue: str) -> QueueStats:
        return await self._readers.read(q.queue_depth, queue)

    async def waiting_tickets(self, queue: str, limit: int) -> list[Ticket]:
        return await self._readers.read(q.waiting_tickets, queue, limit)

    async def purge_closed(self, before: datetime, now: datetime, limit: int = 100) -> Purge:
        return await self._writer.write(
            retention.purge_closed, before.timestamp(), now.timestamp(), limit
        )

    async def erase_customer(self, customer_id: int, by: str, now: datetime) -> Erasure:
        erasure = await self._writer.write(
            retention.erase_customer, customer_id, by, now.timestamp()
        )
        with contextlib.suppress(sqlite3.Error):  # busy: the periodic checkpoints get there
            await asyncio.to_thread(self._truncate_wal)
        return erasure

    def _truncate_wal(self) -> None:
        db = connect(self.options)
        try:
            retention.truncate_wal(db)
        finally:
            db.close()

    async def get_customer(self, customer_id: int) -> Customer:
        return await self._readers.read(customers.get_customer, customer_id)

    async def list_customers(
        self, query: CustomerQuery | None, limit: int = 50, cursor: str | None = None
    ) -> Page[Customer]:
        return await self._readers.read(customers.list_customers, query, limit, cursor)

    async def update_customer(self, customer_id: int, change: CustomerChange) -> Customer:
        return await self._writer.write(customers.update_customer, customer_id, change)

    async def merge_customers(
        self, survivor_id: int, other_id: int, by: str, now: datetime
    ) -> CustomerMerge:
        return await self._writer.write(merges.merge_customers, survivor_id, other_id, by, now)

    async def unmerge_customers(
        self, customer_id: int, merge_id: int, by: str, now: datetime
    ) -> CustomerMerge:
        return await self._writer.write(merges.unmerge_customers, customer_id, merge_id, by, now)

    async def customer_merges(self, customer_id: int) -> list[CustomerMerge]:
        return await self._readers.read(merges.customer_merges, customer_id)

    async def save_rules(
        self, source: str, author: str, now: datetime, expected: int | None = None
    ) -> RulesVersion:
        return await self._writer.write(q.save_rules, source, author, now, expected)

    async def current_rules(self) -> RulesVersion | None:
        return await self._readers.read(q.current_rules)

    async def rules_history(self, limit: int = 50) -> list[RulesVersion]:
        return await self._readers.read(q.rules_history, limit)

    async def replay(self, limit: int = 500, cursor: str | None = None) -> Page[Replay]:
        return await self._readers.read(q.replay, limit, cursor)
