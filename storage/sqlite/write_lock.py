"""One writer at a time across processes, handed over at once.

Several hub processes on one file (`contacthub serve --workers N`, or hubs beside each
other) each have a writer that commits in `BEGIN IMMEDIATE` transactions. SQLite lets one
in and makes the others wait in its busy handler, which sleeps and polls (1, 2, 5 ... up to
100 ms a round): under load a waiting writer slept through many commits of the other, and
the p99 of two workers was over a second where one worker's was 60 ms. An exclusive
`flock` on a file beside the database, taken before BEGIN and given back after COMMIT or
ROLLBACK, queues the writers in the kernel instead, which wakes the next one the moment
the lock is free; BEGIN IMMEDIATE then finds the database free (and still waits as before
for a writer that does not take this lock, such as an older hub or the sqlite3 shell).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class WriteLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".write-lock")
        self._fd: int | None = None

    def open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self) -> None:
        """Blocks until this process is the only writer (call it from a thread)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def try_acquire(self) -> bool:
        """Whether this process is now the only writer, without waiting."""
        if self._fd is None:
            return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
