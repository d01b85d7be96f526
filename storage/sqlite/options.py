"""How the SQLite store reaches its file: the URL's options, connections, error translation."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.errors import ConfigError, Conflict, StorageError, StorageUnavailable


@dataclass(frozen=True, slots=True)
class SqliteOptions:
    path: Path
    synchronous: str = "FULL"
    max_batch: int = 256
    max_size_mb: int | None = None
    commit_delay: float = 0.001
    """Seconds a transaction waits for company once jobs came while the last one committed
    (storage/sqlite/store.py `_Writer._company`); 0: never."""

    @classmethod
    def from_url(cls, url: str) -> SqliteOptions:
        parts = urlsplit(url)
        raw_path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not raw_path or raw_path == ":memory:":
            raise ConfigError(f"storage.url: {url!r} names no database file")
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(params) - {"synchronous", "max_batch", "max_size_mb", "commit_delay_ms"}
        if unknown:
            raise ConfigError(f"storage.url: unknown parameter(s) {sorted(unknown)}")
        synchronous = params.get("synchronous", "full").upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ConfigError("storage.url: synchronous must be full, normal or extra")
        try:
            max_batch = int(params.get("max_batch", "256"))
            size = params.get("max_size_mb")
            max_size = None if size is None else int(size)
            delay = float(params.get("commit_delay_ms", "1")) / 1000
        except ValueError as exc:
            raise ConfigError(f"storage.url: {exc}") from exc
        if not 0 <= delay <= 0.1:
            raise ConfigError("storage.url: commit_delay_ms must be between 0 and 100")
        return cls(Path(raw_path), synchronous, max(1, max_batch), max_size, delay)


BUSY_TIMEOUT_MS = 10_000
"""How long a statement waits for another connection's lock before failing as busy."""


def translate(exc: sqlite3.Error) -> StorageError:
    """A driver error as one of ours: what a retry may cure is StorageUnavailable."""
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(f"storage conflict: {exc}")
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return StorageUnavailable(f"storage unavailable: {exc}")
    return StorageError(f"storage error: {exc}")


def connect(options: SqliteOptions, *, readonly: bool = False) -> sqlite3.Connection:
    db = sqlite3.connect(
        options.path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {options.synchronous}")
    db.execute("PRAGMA foreign_keys = ON")
    # Lookups (dedupe, identities) hit the same hot pages: serve them from memory, not pread.
    db.execute("PRAGMA cache_size = -16384")
    db.execute("PRAGMA mmap_size = 268435456")
    db.execute("PRAGMA wal_autocheckpoint = 0")  # storage/sqlite/checkpoint.py does it
    _math_functions(db)
    if readonly:
        db.execute("PRAGMA query_only = ON")
    elif options.max_size_mb is not None:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {options.max_size_mb * 1024 * 1024 // page_size}")
    return db


def _math_functions(db: sqlite3.Connection) -> None:
    """ln and floor (the running holds' bins) where SQLite was built without its math
    functions (Debian's has them): Python's, which call the same libm."""
    try:
        db.execute("SELECT ln(1), floor(1.5)").fetchone()
    except sqlite3.OperationalError:
        db.create_function("ln", 1, math.log, deterministic=True)
        db.create_function("floor", 1, math.floor, deterministic=True)
