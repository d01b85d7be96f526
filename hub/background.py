"""Background loops for an app's lifetime, stopped for sure.

A loop that retries on a storage error may swallow its cancellation: the Redis client, cut
off mid-command by the cancel, raises its own connection error, which the loop logs and
retries. `stop` therefore cancels again until every task has ended (each cancel lands at the
task's next await), so a hub's shutdown never hangs on one of its loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

ROUNDS = 100
"""Cancels tried per task, 0.1 s apart, before giving up on it (and saying so)."""


async def running(*loops: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run the loops while the app runs (a `cleanup_ctx` body)."""
    tasks = [
        asyncio.create_task(loop(), name=getattr(loop, "__qualname__", None)) for loop in loops
    ]
    yield
    await stop(tasks)


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
