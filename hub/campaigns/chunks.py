"""A callback list cut into byte ranges of whole records, each read where it is normalised.

    Planner(path, size) -> the header, then chunks of `size` records as the csv module
                           finds them (`plan`: all of them at once)
    rows(chunk)         -> the chunk's rows, in a worker process

The loading process reads the file once, to check its CSV structure whole (a file broken
at any line is refused before anything is stored) and to note where every `size`-th record
ends. A worker then reads its own range and parses it again: the rows never cross between
processes, and the loading process keeps its core for the store.

Lines end as a text file opened with `newline=""` ends them (`\\n`, `\\r\\n` or a lone
`\\r`), and are decoded as UTF-8 one at a time (a BOM at the start is skipped; bytes that
are not UTF-8 become U+FFFD and their row is invalid), so a chunk's rows and line numbers
are the ones a reader of the whole file sees.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import InvalidRequest
from router.campaign_lists import COLUMNS, ColumnMap, Row, map_header, sniff_delimiter

MAX_ROW_LINES = 20
"""Lines one row may span (quoted line breaks); more is taken for an unclosed quote."""

_PIECES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes `start` to `end` of the file at `path`: whole records, the first on line
    `line + 1`."""

    path: Path
    start: int
    end: int
    line: int
    delimiter: str
    version: tuple[int, int]  # the file's size and modification time when it was planned


@dataclass(frozen=True, slots=True)
class ListPlan:
    columns: ColumnMap
    delimiter: str
    chunks: tuple[Chunk, ...]


class ListChanged(InvalidRequest):
    """The file was changed since it was planned: a chunk's bytes may no longer be the
    records that were checked."""


class _Lines:
    """A binary file's lines as text, and how many bytes they took."""

    def __init__(self, stream: IO[bytes], first_encoding: str = "utf-8") -> None:
        self._stream = stream
        self.position = 0
        self._encoding = first_encoding

    def __iter__(self) -> Iterator[str]:
        for raw in self._stream:
            for piece in _pieces(raw):
                self.position += len(piece)
                text = piece.decode(self._encoding, "replace")
                self._encoding = "utf-8"
                yield text


def _pieces(raw: bytes) -> tuple[bytes, ...] | list[bytes]:
    """A line read up to `\\n`, cut again at lone `\\r`s (rare: old Mac files)."""
    carriage = raw.find(b"\r")
    if carriage < 0 or (carriage == len(raw) - 2 and raw.endswith(b"\r\n")):
        return (raw,)
    return _PIECES.findall(raw)


class Planner:
    """A list's header, then its chunks one at a time (`chunks`, an iterator), for a loader
    that normalises the first chunks while the rest of the file is still being checked.

    InvalidRequest names the line where the header cannot be read or the structure breaks
    (a quote never closed, text after a closing quote, a NUL byte, a field over
    MAX_ROW_LINES lines). Close it, or use it as a context manager."""

    def __init__(
        self,
        path: Path,
        size: int,
        explicit: Mapping[str, str] | None = None,
        *,
        header_optional: bool = False,
    ) -> None:
        self._path, self._size = path, size
        self._stream = path.open("rb")
        try:
            self._version = _version(self._stream)
            self._lines = _Lines(self._stream, "utf-8-sig")
            texts = iter(self._lines)
            first = next(texts, "")
            if not first.strip():
                raise InvalidRequest("the list is empty: a header row is needed (phone, name, ...)")
            self.delimiter = sniff_delimiter(first)
            self._reader = csv.reader(itertools.chain([first], texts), delimiter=self.delimiter,
                                      strict=True)  # fmt: skip
            self.columns, self._data = _header(self._reader, explicit, header_optional)
        except BaseException:
            self._stream.close()
            raise
        self.chunks = self._chunks()

    def __enter__(self) -> Planner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()

    def _chunks(self) -> Iterator[Chunk]:
        reader, lines, data = self._reader, self._lines, self._data
        line = reader.line_num
        start, first_line = (0, 0) if data else (lines.position, line)
        records = int(data)  # a bare list's first line is its first record
        try:
            for _ in reader:
                begun, line = line + 1, reader.line_num
                if line - begun >= MAX_ROW_LINES:
                    raise _runs_over(begun, line)
                records += 1
                if records == self._size:
                    yield self._chunk(start, lines.position, first_line)
                    start, first_line, records = lines.position, line, 0
        except csv.Error as exc:
            raise InvalidRequest(f"line {line + 1}: {_structure(exc)}") from exc
        if records:
            yield self._chunk(start, lines.position, first_line)

    def _chunk(self, start: int, end: int, line: int) -> Chunk:
        return Chunk(self._path, start, end, line, self.delimiter, self._version)


def _version(stream: IO[bytes]) -> tuple[int, int]:
    status = os.fstat(stream.fileno())
    return status.st_size, status.st_mtime_ns


def plan(
    path: Path,
    size: int,
    explicit: Mapping[str, str] | None = None,
    *,
    header_optional: bool = False,
) -> ListPlan:
    """The header's columns and the whole file in chunks of `size` records (see Planner)."""
    with Planner(path, size, explicit, header_optional=header_optional) as planner:
        return ListPlan(planner.columns, planner.delimiter, tuple(planner.chunks))


def _header(
    reader: Iterator[list[str]], explicit: Mapping[str, str] | None, header_optional: bool
) -> tuple[ColumnMap, bool]:
    """The columns, and whether the first record was data (a bare list of numbers, whose
    first column is read)."""
    try:
        header = next(reader)
    except csv.Error as exc:  # the header's own quote is never closed, say
        raise InvalidRequest(f"line 1: {_structure(exc)}") from exc
    try:
        return map_header(header, explicit), False
    except ValueError as exc:
        if not header_optional:
            raise InvalidRequest(f"line 1: {exc}") from exc
        return ColumnMap((0, *([None] * (len(COLUMNS) - 1)))), True


def rows(chunk: Chunk) -> list[Row]:
    """The chunk's rows that hold anything, with their first lines; ListChanged when the
    file's size or modification time is not what they were when it was planned, or its
    bytes no longer parse as they did."""
    with chunk.path.open("rb") as stream:
        if _version(stream) != chunk.version:  # edited or replaced since: not what was checked
            raise ListChanged(f"line {chunk.line + 1}: the list changed while it was loaded")
        stream.seek(chunk.start)
        data = stream.read(chunk.end - chunk.start)
    encoding = "utf-8-sig" if chunk.start == 0 else "utf-8"
    reader = csv.reader(_Lines(io.BytesIO(data), encoding), delimiter=chunk.delimiter,
                        strict=True)  # fmt: skip
    found: list[Row] = []
    line = chunk.line
    try:
        for fields in reader:
            begun, line = line + 1, chunk.line + reader.line_num
            if (fields and fields[0].strip()) or any(f.strip() for f in fields):
                found.append((begun, fields))
    except csv.Error as exc:
        raise ListChanged(f"line {line + 1}: the list changed while it was loaded") from exc
    return found


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
