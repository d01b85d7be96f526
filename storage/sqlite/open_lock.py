"""Who has the database open, so a restore never replaces it under a running hub.

Every process that opens the store (each worker of `contacthub serve`, a hub beside it, a
command such as `token create`) holds a shared `flock` on a file beside the database for as
long as the store is open. A restore takes it exclusively, without waiting, for the whole
replacement. A hub still running on the file would go on writing to the database the restore
unlinked, and every contact it acknowledged from then on would be lost at its next start: so
the restore refuses while any holds it, and a hub that starts while a restore runs refuses to
open.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from core.errors import Conflict, StorageUnavailable


class OpenLock:
    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".open-lock")
        self._fd: int | None = None

    def share(self) -> None:
        """Hold the database open beside the others; refused while a restore replaces it."""
        if not self._take(fcntl.LOCK_SH):
            raise StorageUnavailable(
                f"a restore is replacing {self.database}: start the hub when it has finished"
            )

    def exclusive(self) -> None:
        """Hold the database alone (a restore); refused while anything has it open."""
        if not self._take(fcntl.LOCK_EX):
            raise Conflict(
                f"{self.database} is open in a running hub or command: stop every hub on it "
                "(each of its workers) before restoring, or the contacts it acknowledges "
                "after the restore would be lost"
            )

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file gives the lock back
            self._fd = None

    def _take(self, kind: int) -> bool:
        self.release()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True
