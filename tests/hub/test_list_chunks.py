"""hub/campaigns/chunks.py: a list cut into byte ranges gives the rows of one whole reading."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.errors import InvalidRequest
from hub.campaigns import chunks
from router.campaign_lists import Row, map_header

PIECES = st.sampled_from([
    "phone,name\n", "phone;name\r\n", ",", ";", '"', '""', "\n", "\r\n", "\r", " ", "\x00",
    "+12125550100", "(212) 555-0101", "Ada", "é", "\ufeff", "x" * 50,
])  # fmt: skip
HEADERS = st.sampled_from([b"phone,name\n", b"phone;name\r\n", b"\xef\xbb\xbfphone,name\r", b""])
BODIES = st.lists(
    PIECES.map(str.encode) | st.sampled_from([b"\xff", b"\xe2\x82", b"\xc3"]), max_size=40
).map(b"".join)
BYTES = st.tuples(HEADERS, BODIES).map(b"".join)


def whole_reading(path: Path) -> list[Row] | None:
    """The rows as one csv.reader over the whole text file sees them (None: refused)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        first = stream.readline()
        stream.seek(0)
        if not first.strip():
            return None
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(stream, delimiter=delimiter, strict=True)
        try:
            map_header(next(reader))
            found, line = [], reader.line_num
            for fields in reader:
                begun, line = line + 1, reader.line_num
                if line - begun >= chunks.MAX_ROW_LINES:
                    return None
                if any(f.strip() for f in fields):
                    found.append((begun, fields))
        except (csv.Error, ValueError, StopIteration):
            return None
        return found


@settings(max_examples=400)
@given(BYTES, st.integers(1, 5))
@example(b"phone\r2125550100\r\r2125550101", 1)  # an old Mac file, no last line end
@example(b"phone,name\n\xef\xbb\xbf2125550100,Ada\n", 1)  # a BOM is skipped at the start only
@example(b'\xef\xbb\xbfphone,name\n"212555\r\n0100",Ada\r\n\r\n2125550101,\xff\n', 2)
def test_the_chunks_rows_are_those_of_one_reading_of_the_file(data: bytes, size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_bytes(data)
        expected = whole_reading(path)
        try:
            plan = chunks.plan(path, size)
        except InvalidRequest:
            assert expected is None
            return
        rows = [row for chunk in plan.chunks for row in chunks.rows(chunk)]
        assert rows == expected
        assert all(len(chunks.rows(chunk)) <= size for chunk in plan.chunks)
        ends = [chunk.end for chunk in plan.chunks]
        assert ends == sorted(ends)
        assert not ends or ends[-1] == len(data)


def test_a_bare_list_of_numbers_starts_at_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "dnc.txt"
    path.write_bytes(b"2125550100\r\n\r\n2125550101\n")
    plan = chunks.plan(path, 1, header_optional=True)
    rows = [row for chunk in plan.chunks for row in chunks.rows(chunk)]
    assert rows == [(1, ["2125550100"]), (3, ["2125550101"])]


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(b'phone,name\n2125550100,"Ad\n2125550101,Bob\n', id="broken"),
        pytest.param(b"phone,name\n2125550199,Eve\n2125550101,Bob\n", id="still-a-list"),
    ],
)
def test_a_file_changed_after_its_plan_is_said_not_misread(tmp_path: Path, changed: bytes) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"phone,name\n2125550100,Ada\n2125550101,Bob\n")
    plan = chunks.plan(path, 1)
    path.write_bytes(changed)
    os.utime(path, ns=(0, 0))  # not the planned time, even on a coarse clock
    with pytest.raises(chunks.ListChanged, match="line 2: the list changed while it was loaded"):
        chunks.rows(plan.chunks[0])
