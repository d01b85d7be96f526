"""Backups of an SQLite hub (the file's layout: storage/archive.py).

The copy is taken while the hub serves and writes: SQLite's online backup API reads one
snapshot and, in WAL mode, blocks no writer. A restore goes into a stopped hub's store (it
refuses while any process has the store open: storage/sqlite/open_lock.py): the database is
checked, then renamed over the configured path; it refuses a store that holds tickets,
customers or agents unless forced.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import Conflict, InvalidRequest, StorageUnavailable
from storage.archive import extract_blobs, extract_snapshot, open_archive, write_archive
from storage.files import fsync_directory
from storage.sqlite.open_lock import OpenLock

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
    """Copy the live database and the attachments into `archive`."""
    if not database.exists():
        raise StorageUnavailable(f"no database at {database}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".backup-") as work:
        copy = Path(work) / DATABASE
        _copy_database(database, copy)
        counts = _counts(copy)
        blobs = write_archive(archive, copy, DATABASE, blob_dir)
    return BackupSummary(counts, blobs)


def restore_backup(
    archive: Path, database: Path, blob_dir: Path, *, force: bool = False
) -> BackupSummary:
    """Put an archive's database at `database` and its attachments under `blob_dir`."""
    database.parent.mkdir(parents=True, exist_ok=True)
    alone = OpenLock(database)
    alone.exclusive()  # no hub has it open, and none opens it until the restore is done
    try:
        return _restore(archive, database, blob_dir, force=force)
    finally:
        alone.release()


def _restore(archive: Path, database: Path, blob_dir: Path, *, force: bool) -> BackupSummary:
    if not force and _occupied(database):
        raise Conflict(f"{database} already holds a hub's data (restore --force replaces it)")
    with (
        open_archive(archive) as tar,
        tempfile.TemporaryDirectory(dir=database.parent, prefix=".restore-") as work,
    ):
        copy = Path(work) / DATABASE
        extract_snapshot(tar, archive, DATABASE, copy)
        counts = _counts(copy)
        blobs = extract_blobs(tar, blob_dir)
        for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)  # they belong to the database being replaced
        os.replace(copy, database)  # the copy was fsynced as it was extracted
        fsync_directory(database.parent)
    return BackupSummary(counts, blobs)


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
