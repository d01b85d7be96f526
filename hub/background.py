"""Background loops for an app's lifetime, kept running, and stopped for sure.

A loop that fails on something it did not expect (a bug, a record it cannot read) is logged
with its traceback, counted (`failed`: the hub's `contacthub_background_failures_total`),
and started again after a pause that doubles up to `PAUSE_MOST`: a loop that died quietly
would leave the hub answering webhooks while no offer is made, no SLA watched and no offer
expires, which no client would notice until a queue stalled.

A loop that retries on a storage error may swallow its cancellation: the Redis client, cut
off mid-command by the cancel, raises its own connection error, which the loop logs and
retries. `stop` therefore cancels again until every task has ended (each cancel lands at the
task's next await), so a hub's shutdown never hangs on one of its loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger("contacthub.background")

ROUNDS = 100
"""Cancels tried per task, 0.1 s apart, before giving up on it (and saying so)."""
PAUSE_FIRST = 1.0
PAUSE_MOST = 60.0
"""Seconds before a failed loop starts again: the first time, and at most (a loop that ran
for `PAUSE_MOST` before failing starts again after `PAUSE_FIRST`)."""

Loop = Callable[[], Coroutine[Any, Any, None]]
Failed = Callable[[str], None]
"""Told the name of each loop that failed (and will start again)."""


def unheard(_loop: str) -> None:
    """No one counts the failures (the log still says them)."""


async def running(
    *loops: Loop, pause: float = PAUSE_FIRST, failed: Failed = unheard
) -> AsyncIterator[None]:
    """Run the loops while the app runs (a `cleanup_ctx` body)."""
    tasks = [
        asyncio.create_task(kept(loop, pause, failed), name=getattr(loop, "__qualname__", None))
        for loop in loops
    ]
    yield
    await stop(tasks)


async def kept(loop: Loop, pause: float = PAUSE_FIRST, failed: Failed = unheard) -> None:
    """`loop()`, started again whenever it fails; returns when it returns."""
    clock = asyncio.get_running_loop().time
    wait = pause
    while True:
        began = clock()
        try:
            await loop()
            return
        except Exception:
            if clock() - began >= PAUSE_MOST:
                wait = pause
            log.exception("background loop failed", loop=_name(loop), restart_in=wait)
            failed(_name(loop))
        await asyncio.sleep(wait)
        wait = min(wait * 2, PAUSE_MOST)


def _name(loop: Loop) -> str:
    return str(getattr(loop, "__qualname__", loop))


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    pending = set(tasks)
    for _ in range(ROUNDS):
        pending = {task for task in pending if not task.done()}
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise RuntimeError(f"background loop {task.get_name()} failed") from task.exception()
    if pending:
        raise RuntimeError(
            f"background loops would not stop: {sorted(t.get_name() for t in pending)}"
        )
