"""Backups of an SQLite hub: the database and its attachments in one tar file.

    contacthub.db              a consistent copy made by SQLite's online backup API
    blobs/ab/cd/abcd...ef      every attachment file, by sha256 (storage/blobs.py)

The copy is taken while the hub serves and writes: in WAL mode the backup reads one snapshot
and blocks no writer. Attachments are copied after the database, and a blob is renamed into
place before the commit that references it, so every attachment the copied database names is
in the archive (an attachment committed later may be too: an orphan, harmless).

A restore goes into a stopped hub's store: the database is checked, then renamed over the
configured path; it refuses a store that holds tickets, customers or agents unless forced.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import Conflict, InvalidRequest, StorageUnavailable
from storage.blobs import BlobStore

DATABASE = "contacthub.db"
_BLOB = re.compile(r"blobs/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
_COUNTED = {
    "tickets": "SELECT count(*) FROM tickets",
    "messages": "SELECT count(*) FROM messages",
    "ticket_events": "SELECT count(*) FROM ticket_events",
    "customers": "SELECT count(*) FROM customers",
}
_OCCUPIED = {  # what makes a store not empty
    "tickets": "SELECT EXISTS (SELECT 1 FROM tickets)",
    "customers": "SELECT EXISTS (SELECT 1 FROM customers)",
    "agents": "SELECT EXISTS (SELECT 1 FROM agents)",
}


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What an archive holds: rows per main table and the attachment files."""

    counts: dict[str, int]
    blobs: int


def write_backup(database: Path, blob_dir: Path, archive: Path) -> BackupSummary:
    """Copy the live database and the attachments into `archive` (written, then renamed)."""
    if not database.exists():
        raise StorageUnavailable(f"no database at {database}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".backup-") as work:
        copy = Path(work) / DATABASE
        _copy_database(database, copy)
        counts = _counts(copy)
        partial = Path(work) / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            tar.add(copy, DATABASE)
            blobs = _add_blobs(tar, blob_dir)
        os.replace(partial, archive)
    return BackupSummary(counts, blobs)


def restore_backup(
    archive: Path, database: Path, blob_dir: Path, *, force: bool = False
) -> BackupSummary:
    """Put an archive's database at `database` and its attachments under `blob_dir`."""
    if not force and _occupied(database):
        raise Conflict(f"{database} already holds a hub's data (restore --force replaces it)")
    database.parent.mkdir(parents=True, exist_ok=True)
    with (
        _open_archive(archive) as tar,
        tempfile.TemporaryDirectory(dir=database.parent, prefix=".restore-") as work,
    ):
        copy = Path(work) / DATABASE
        _extract_database(tar, archive, copy)
        counts = _counts(copy)
        blobs = _extract_blobs(tar, blob_dir)
        for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)  # they belong to the database being replaced
        os.replace(copy, database)
    return BackupSummary(counts, blobs)


@contextlib.contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive) as tar:
            yield tar
    except (OSError, tarfile.TarError) as exc:
        raise InvalidRequest(f"{archive} is not a contacthub backup: {exc}") from exc


def _copy_database(source: Path, target: Path) -> None:
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            live.backup(copy)  # every page in one step: one snapshot, writers go on
            copy.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
    except sqlite3.Error as exc:
        raise StorageUnavailable(f"cannot back up {source}: {exc}") from exc


def _counts(database: Path) -> dict[str, int]:
    try:
        with contextlib.closing(sqlite3.connect(database)) as db:
            check = db.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise InvalidRequest(f"the backup's database is damaged: {check}")
            return {t: db.execute(sql).fetchone()[0] for t, sql in _COUNTED.items()}
    except sqlite3.Error as exc:
        raise InvalidRequest(f"the backup's database is unusable: {exc}") from exc


def _occupied(database: Path) -> bool:
    if not database.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            return any(db.execute(sql).fetchone()[0] for t, sql in _OCCUPIED.items() if t in tables)
    except sqlite3.Error:
        return True  # a file we cannot read is not ours to overwrite without --force


def _add_blobs(tar: tarfile.TarFile, blob_dir: Path) -> int:
    count = 0
    for path in _blob_files(blob_dir):
        tar.add(path, f"blobs/{path.relative_to(blob_dir).as_posix()}")
        count += 1
    return count


def _blob_files(blob_dir: Path) -> Iterator[Path]:
    if not blob_dir.is_dir():
        return
    for path in sorted(blob_dir.glob("??/??/*")):
        if path.is_file() and _BLOB.fullmatch(f"blobs/{path.relative_to(blob_dir).as_posix()}"):
            yield path


def _extract_database(tar: tarfile.TarFile, archive: Path, target: Path) -> None:
    try:
        member = tar.getmember(DATABASE)
        source = tar.extractfile(member) if member.isfile() else None
    except KeyError:
        source = None
    if source is None:
        raise InvalidRequest(f"{archive} holds no {DATABASE}: not a contacthub backup")
    with source, target.open("wb") as out:
        while chunk := source.read(1 << 20):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def _extract_blobs(tar: tarfile.TarFile, blob_dir: Path) -> int:
    """Attachment files only, stored by the blob store (which names them by their sha256):
    no path from the archive is ever written, and a file whose bytes do not match its name
    is refused."""
    blobs = BlobStore(blob_dir, max_blob_bytes=sys.maxsize)
    count = 0
    for member in tar:
        source = tar.extractfile(member) if _BLOB.fullmatch(member.name) else None
        if source is None:
            continue
        with source:
            digest = blobs.put(source.read())
        if digest != member.name.rpartition("/")[2]:
            raise InvalidRequest(f"the backup's attachment {member.name} is damaged")
        count += 1
    return count
