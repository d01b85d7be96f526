"""Loading a callback list into a campaign: a CSV file read as a stream, in batches.

    read rows (a thread) -> normalise a batch (a process pool, or a thread) -> store it

The file is read `batch_rows` rows at a time; each batch is normalised by
`router.campaign_lists.normalise_rows` on another core when a process pool is given (the
CLI: parsing numbers is the cost, ~25 µs a row) and stored with one `Store.add_contacts`
call. At most `2 x workers` batches are in flight, so memory does not grow with the file;
the report keeps counts and the first `MAX_LISTED` rows of each kind of rejection.

The header row names the columns (router/campaign_lists.py: names, aliases, an explicit
mapping); its delimiter, `,` or `;`, is used for the whole file. The file is UTF-8 (a BOM is
skipped); a row with bytes that are not UTF-8 is invalid, with its line.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import itertools
import os
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.campaigns import DUPLICATE_IN_LIST, Campaign, ContactBatch, NewContact
from core.errors import InvalidRequest
from router.calling_law import LEGAL, CallingLaw
from router.campaign_lists import (
    COLUMNS,
    ColumnMap,
    Invalid,
    Normaliser,
    Row,
    list_phone,
    map_header,
    normalise_rows,
    sniff_delimiter,
)
from storage.base import Store

MAX_LISTED = 100
"""Rows listed per kind of rejection in a report (the counts are always whole)."""

MAX_ROW_LINES = 20
"""Lines one row may span (quoted line breaks); more is taken for an unclosed quote."""

Progress = Callable[[int, int], None]
"""Told (bytes read, rows read) after each stored batch."""


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


class ListReader:
    """The rows of an open CSV file, batch by batch, with the header already mapped."""

    def __init__(
        self,
        stream: IO[str],
        explicit: Mapping[str, str] | None = None,
        *,
        header_optional: bool = False,
    ) -> None:
        first = stream.readline()
        if not first.strip():
            raise InvalidRequest("the list is empty: a header row is needed (phone, name, ...)")
        self.delimiter = sniff_delimiter(first)
        self._csv = csv.reader(
            itertools.chain([first], stream), delimiter=self.delimiter, strict=True
        )
        self._line = 0
        self._pending: list[Row] = []
        try:
            header = next(self._csv)
        except csv.Error as exc:  # the header's own quote is never closed, say
            raise InvalidRequest(f"line 1: {_structure(exc)}") from exc
        try:
            self.columns = map_header(header, explicit)
        except ValueError as exc:
            if not header_optional:
                raise InvalidRequest(f"line 1: {exc}") from exc
            # A bare list of numbers: the first column, from the first line on.
            self.columns = ColumnMap((0, *([None] * (len(COLUMNS) - 1))))
            self._pending.append((1, header))
        self._line = self._csv.line_num

    def batch(self, size: int) -> list[Row]:
        """The next `size` rows that hold anything ([] at the end), with their first line;
        InvalidRequest naming the line where the file's structure breaks."""
        rows, self._pending = self._pending, []
        try:
            for fields in self._csv:
                first, self._line = self._line + 1, self._csv.line_num
                if self._line - first >= MAX_ROW_LINES:
                    raise _runs_over(first, self._line)
                if (fields and fields[0].strip()) or any(f.strip() for f in fields):
                    rows.append((first, fields))
                    if len(rows) >= size:
                        break
        except csv.Error as exc:
            raise InvalidRequest(f"line {self._line + 1}: {_structure(exc)}") from exc
        return rows

    def scan(self) -> int:
        """Read the rest as `batch` would, keeping nothing (the loop `batch` runs, without
        the rows: a tenth of its time); the records read, or InvalidRequest."""
        reader, line, records = self._csv, self._line, 0
        try:
            for _ in reader:
                first, line = line + 1, reader.line_num
                if line - first >= MAX_ROW_LINES:
                    raise _runs_over(first, line)
                records += 1
        except csv.Error as exc:
            raise InvalidRequest(f"line {line + 1}: {_structure(exc)}") from exc
        return records


def _runs_over(first: int, last: int) -> InvalidRequest:
    return InvalidRequest(
        f"line {first}: a quoted field runs over {last - first + 1} lines "
        "(a quote that is never closed?)"
    )


def _structure(error: csv.Error) -> str:
    """The csv module's complaint, as the person who fixes the file needs it."""
    text = str(error)
    if "unexpected end of data" in text:
        return "a quote opened in this row is never closed"
    if "expected after" in text:
        return f'{text} (a quote inside a quoted field is written twice: "")'
    return text


def check_structure(path: Path, explicit: Mapping[str, str] | None = None) -> int:
    """Read the whole file as CSV without keeping it: its rows, or InvalidRequest for the
    first line where its structure breaks (a quote never closed, text after a closing
    quote, a NUL byte) or its header cannot be read."""
    with open_list(path) as stream:
        return ListReader(stream, explicit).scan()


def open_list(path: Path) -> IO[str]:
    # utf-8-sig skips a BOM; undecodable bytes become U+FFFD and their row is invalid.
    return path.open(encoding="utf-8-sig", errors="replace", newline="")


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
    read_in_thread: bool = True  # a server's loop must not wait on the file
    law: CallingLaw = LEGAL  # a row never callable under it is refused

    async def run(
        self, path: Path, pool: Executor | None = None, progress: Progress | None = None
    ) -> LoadReport:
        """Read, normalise and store the whole file; `pool` normalises (None: a thread).

        The file's CSV structure is checked whole first, so a file broken at any line is
        refused with that line and nothing of it is loaded: fixed and loaded again, it is
        not half duplicates of itself."""
        try:
            await asyncio.to_thread(check_structure, path, self.explicit)
        except InvalidRequest as exc:
            raise InvalidRequest(f"{exc.message}; nothing was loaded") from exc
        source = f"csv:{uuid.uuid4().hex[:16]}"
        with open_list(path) as stream:
            reader = await asyncio.to_thread(ListReader, stream, self.explicit)
            report = LoadReport(self.campaign, delimiter=reader.delimiter,
                                ignored_columns=reader.columns.ignored)  # fmt: skip
            normaliser = Normaliser(
                reader.columns, self.region, self.campaign.policy, self.now, self.law
            )
            batches = _batches(reader, self.batch_rows)
            size = os.fstat(stream.fileno()).st_size
            stage = functools.partial(self._batch, normaliser, pool, source)
            await self._pipeline(batches, stage, report, _told(progress, stream, size))
        return report

    async def _pipeline(
        self,
        batches: Iterator[list[Row]],
        stage: Callable[[list[Row]], Coroutine[Any, Any, _Done]],
        report: LoadReport,
        progress: Callable[[int], None],
    ) -> None:
        """Batches go through `stage` several at a time (taken in order): while one waits
        for its commit, the next are normalised, and store calls made together share one
        transaction (the SQLite writer's group commit), so a load pays fewer fsyncs."""
        in_flight = 2 * max(self.workers, 1) + 2
        pending: deque[asyncio.Task[_Done]] = deque()
        try:
            while rows := await self._read(batches):
                report.rows += len(rows)
                pending.append(asyncio.create_task(stage(rows)))
                if len(pending) >= in_flight:
                    report.add(await pending.popleft())
                    progress(report.rows)
            while pending:
                report.add(await pending.popleft())
                progress(report.rows)
        finally:
            for task in pending:
                task.cancel()

    async def _read(self, batches: Iterator[list[Row]]) -> list[Row]:
        if self.read_in_thread:
            return await asyncio.to_thread(_next, batches)
        # A command's loop has nothing else to do, and a reading thread would trade the
        # GIL with the SQL of the writer at every row (~10% of a load).
        return _next(batches)

    async def _batch(
        self, normaliser: Normaliser, pool: Executor | None, source: str, rows: list[Row]
    ) -> _Done:
        loop = asyncio.get_running_loop()
        normalised = await loop.run_in_executor(pool, normalise_rows, normaliser, rows)
        contacts = [row for row in normalised if isinstance(row, NewContact)]
        invalid = [row for row in normalised if isinstance(row, Invalid)]
        if not contacts:
            return _Done(invalid, None)
        batch = await self.store.add_contacts(self.campaign.id, contacts, source, self.now)
        return _Done(invalid, batch)


@dataclass(frozen=True, slots=True)
class _Done:
    invalid: list[Invalid]
    batch: ContactBatch | None


def _next(batches: Iterator[list[Row]]) -> list[Row]:
    return next(batches, [])


def _batches(reader: ListReader, size: int) -> Iterator[list[Row]]:
    while rows := reader.batch(size):
        yield rows


def _told(progress: Progress | None, stream: IO[str], size: int) -> Callable[[int], None]:
    def tell(rows: int) -> None:
        if progress is not None:
            progress(min(stream.buffer.tell(), size), rows)  # type: ignore[attr-defined]  # a TextIOWrapper's byte buffer, which IO[str] hides

    return tell


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
    """Numbers onto the do-not-call list: a CSV with a phone column, or one number a line."""
    report = DoNotCallReport(source)
    with open_list(path) as stream:
        reader = await asyncio.to_thread(ListReader, stream, header_optional=True)
        while rows := await asyncio.to_thread(reader.batch, batch_rows):
            phones = await asyncio.to_thread(_dnc_phones, reader.columns, rows, region, report)
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
