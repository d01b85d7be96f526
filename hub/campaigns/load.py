"""Loading a callback list into a campaign: a CSV file in chunks, read where normalised.

    plan the file (a thread) -> read and normalise a chunk (a process pool, or a thread)
                             -> store it

The file's structure is read whole first (hub/campaigns/chunks.py), noting where every
`batch_rows`-th record ends; each chunk is then read and normalised by
`router.campaign_lists.normalise_rows` on another core when a process pool is given (the
CLI: parsing numbers is the cost, ~10 µs a row) and stored with one `Store.add_contacts`
call, so the loading process spends its core on the store. At most `2 x workers + 2`
chunks are in flight, so memory does not grow with the file; the report keeps counts and
the first `MAX_LISTED` rows of each kind of rejection.

The header row names the columns (router/campaign_lists.py: names, aliases, an explicit
mapping); its delimiter, `,` or `;`, is used for the whole file. The file is UTF-8 (a BOM is
skipped); a row with bytes that are not UTF-8 is invalid, with its line.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from core.campaigns import DUPLICATE_IN_LIST, Campaign, ContactBatch, NewContact
from core.errors import InvalidRequest
from hub.campaigns import chunks
from hub.campaigns.chunks import Chunk
from router.calling_law import LEGAL, CallingLaw
from router.campaign_lists import ColumnMap, Invalid, Normaliser, Row, list_phone, normalise_rows
from storage.base import Store

T = TypeVar("T")

MAX_LISTED = 100
"""Rows listed per kind of rejection in a report (the counts are always whole)."""

Progress = Callable[[int, int], None]
"""Told (bytes read, rows read) after each stored chunk."""


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    kind: str  # invalid, duplicate, suppressed
    reason: str
    phone: str = ""


@dataclass(slots=True)
class LoadReport:
    campaign: Campaign
    created: bool = False
    rows: int = 0
    accepted: int = 0
    invalid: int = 0
    duplicate_in_list: int = 0
    duplicate_in_campaign: int = 0
    suppressed: int = 0
    renewed: int = 0
    delimiter: str = ","
    ignored_columns: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    listed: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return self.duplicate_in_list + self.duplicate_in_campaign

    def note(self, problem: Problem) -> None:
        if self.listed.get(problem.kind, 0) < MAX_LISTED:
            self.listed[problem.kind] = self.listed.get(problem.kind, 0) + 1
            self.problems.append(problem)

    def add(self, done: _Done) -> None:
        self.rows += done.rows
        self.invalid += len(done.invalid)
        for row in done.invalid:
            self.note(Problem(row.line, "invalid", row.reason))
        if done.batch is not None:
            self._add_batch(done.batch)

    def _add_batch(self, batch: ContactBatch) -> None:
        self.accepted += batch.accepted
        self.renewed += batch.renewed
        self.suppressed += len(batch.suppressed)
        for rejected in batch.duplicates:
            if rejected.reason == DUPLICATE_IN_LIST:
                self.duplicate_in_list += 1
            else:
                self.duplicate_in_campaign += 1
            self.note(Problem(rejected.line, "duplicate", rejected.reason, rejected.phone))
        for rejected in batch.suppressed:
            self.note(Problem(rejected.line, "suppressed", rejected.reason, rejected.phone))


@dataclass(frozen=True, slots=True)
class ListLoad:
    """One load of one file into one campaign."""

    store: Store
    campaign: Campaign
    region: str
    now: datetime
    batch_rows: int = 5000
    workers: int = 2
    explicit: Mapping[str, str] | None = None
    law: CallingLaw = LEGAL  # a row never callable under it is refused

    async def run(
        self, path: Path, pool: Executor | None = None, progress: Progress | None = None
    ) -> LoadReport:
        """Read, normalise and store the whole file; `pool` normalises (None: a thread).

        The file's CSV structure is checked whole before anything is stored, so a file
        broken at any line is refused with that line and nothing of it is loaded: fixed and
        loaded again, it is not half duplicates of itself. The first chunks are normalised
        meanwhile."""
        planner = await _refused_whole(asyncio.to_thread(
            chunks.Planner, path, self.batch_rows, self.explicit
        ))  # fmt: skip
        try:
            source = f"csv:{uuid.uuid4().hex[:16]}"
            report = LoadReport(self.campaign, delimiter=planner.delimiter,
                                ignored_columns=planner.columns.ignored)  # fmt: skip
            normaliser = Normaliser(
                planner.columns, self.region, self.campaign.policy, self.now, self.law
            )
            checked = asyncio.Event()
            stage = functools.partial(self._batch, normaliser, pool, source, checked)
            await self._pipeline(planner, checked, stage, report, progress)
        finally:
            planner.close()
        return report

    async def _pipeline(
        self,
        planner: chunks.Planner,
        checked: asyncio.Event,
        stage: Callable[[Chunk], Coroutine[Any, Any, _Done]],
        report: LoadReport,
        progress: Progress | None,
    ) -> None:
        """Chunks go through `stage` several at a time (taken in order): while one waits
        for its commit, the next are normalised, and store calls made together share one
        transaction (the SQLite writer's group commit), so a load pays fewer fsyncs.

        The first chunks start while the file is still being checked: once as many are
        under way as may be in flight, the check reads to the end (keeping only where the
        chunks end), and `checked` lets them be stored."""
        in_flight = 2 * max(self.workers, 1) + 2
        pending: deque[asyncio.Task[_Done]] = deque()

        def add(done: _Done) -> None:
            report.add(done)
            if progress is not None:
                progress(done.end, report.rows)

        try:
            while len(pending) < in_flight:
                chunk = await _refused_whole(asyncio.to_thread(next, planner.chunks, None))
                if chunk is None:
                    break
                pending.append(asyncio.create_task(stage(chunk)))
            rest = await _refused_whole(asyncio.to_thread(list, planner.chunks))
            checked.set()
            for chunk in rest:
                pending.append(asyncio.create_task(stage(chunk)))
                if len(pending) >= in_flight:
                    add(await pending.popleft())
            while pending:
                add(await pending.popleft())
        finally:
            for task in pending:
                task.cancel()

    async def _batch(  # one chunk, all it needs
        self,
        normaliser: Normaliser,
        pool: Executor | None,
        source: str,
        checked: asyncio.Event,
        chunk: Chunk,
    ) -> _Done:
        loop = asyncio.get_running_loop()
        rows, normalised = await loop.run_in_executor(pool, normalise_chunk, normaliser, chunk)
        await checked.wait()  # nothing is stored from a file that may yet be refused
        contacts = [row for row in normalised if isinstance(row, NewContact)]
        invalid = [row for row in normalised if isinstance(row, Invalid)]
        if not contacts:
            return _Done(rows, chunk.end, invalid, None)
        batch = await self.store.add_contacts(self.campaign.id, contacts, source, self.now)
        return _Done(rows, chunk.end, invalid, batch)


WORKER_NICENESS = 10
"""How much lower the normalising processes run than the one that stores."""


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Processes to normalise chunks in: spawned (never a fork of a process that holds
    SQLite's threads), and at a lower priority, so they take what the storing process (a
    load's one serial path) and a running hub leave of the cores."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=os.nice,
        initargs=(WORKER_NICENESS,),
    )


async def _refused_whole(step: Awaitable[T]) -> T:
    """A step of reading the file's structure; its refusal says nothing was loaded."""
    try:
        return await step
    except InvalidRequest as exc:
        raise InvalidRequest(f"{exc.message}; nothing was loaded") from exc


def normalise_chunk(normaliser: Normaliser, chunk: Chunk) -> tuple[int, list[NewContact | Invalid]]:
    """A chunk read and normalised, for a process pool (a module-level function pickles
    by name): how many rows it held, and what they became."""
    found = chunks.rows(chunk)
    return len(found), normalise_rows(normaliser, found)


@dataclass(frozen=True, slots=True)
class _Done:
    rows: int
    end: int  # the chunk's last byte, for the progress bar
    invalid: list[Invalid]
    batch: ContactBatch | None


@dataclass(slots=True)
class DoNotCallReport:
    source: str
    rows: int = 0
    added: int = 0
    already_listed: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)


async def load_do_not_call(  # one upload, all it needs
    store: Store, path: Path, source: str, region: str, now: datetime, batch_rows: int = 5000
) -> DoNotCallReport:
    """Numbers onto the do-not-call list: a CSV with a phone column, or one number a line.
    A file whose structure breaks anywhere is refused before any number is added."""
    report = DoNotCallReport(source)
    plan = await asyncio.to_thread(chunks.plan, path, batch_rows, header_optional=True)
    for chunk in plan.chunks:
        rows = await asyncio.to_thread(chunks.rows, chunk)
        phones = await asyncio.to_thread(_dnc_phones, plan.columns, rows, region, report)
        report.rows += len(rows)
        added = await store.add_do_not_call(phones, source, now) if phones else 0
        report.added += added
        report.already_listed += len(phones) - added
    return report


def _dnc_phones(
    columns: ColumnMap, rows: list[Row], region: str, report: DoNotCallReport
) -> list[str]:
    phones = []
    position = columns.positions[0] or 0
    for line, fields in rows:
        raw = fields[position].strip() if position < len(fields) else ""
        try:
            phones.append(list_phone(raw, region)[0])
        except ValueError as exc:
            report.invalid += 1
            if len(report.problems) < MAX_LISTED:
                report.problems.append(Problem(line, "invalid", str(exc)))
    return list(dict.fromkeys(phones))
