"""WAL checkpoints off the commit path.

SQLite's automatic checkpoint runs inside the COMMIT that crosses the WAL threshold, so one
unlucky batch of contacts waits for a copy of a thousand pages and its fsync (~80 ms stalls
were seen under load). The writer turns automatic checkpoints off; this task runs PASSIVE
checkpoints on a connection of its own, in a thread, which never blocks the writer or the
readers. Should it fall behind, the WAL grows but nothing waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

import structlog

log = structlog.get_logger("contacthub.sqlite")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class Checkpointer:
    def __init__(self, connect: Callable[[], sqlite3.Connection], interval: float) -> None:
        self._connect = connect
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        # One thread for every call on the connection: a stop cancels the await, not a
        # checkpoint already running in its thread, and closing the connection under it from
        # another thread crashed the process (SIGSEGV); here the close queues behind it.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sqlite-checkpoint")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._thread.shutdown, wait=True)

    async def _call(self, function: Callable[[*Ts], T], *args: *Ts) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def _run(self) -> None:
        db = await self._call(self._connect)
        try:
            while True:
                await asyncio.sleep(self._interval)
                try:
                    await self._call(_checkpoint, db)
                except sqlite3.Error as exc:  # the next round tries again; writes go on
                    log.warning("checkpoint_failed", error=str(exc))
        finally:
            await self._call(db.close)


def _checkpoint(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
