"""Background loops: one that fails is logged and started again; stopping always ends them."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from hub.background import running


async def test_a_failing_loop_is_logged_and_started_again() -> None:
    runs: list[float] = []
    recovered = asyncio.Event()

    async def flaky() -> None:
        runs.append(asyncio.get_running_loop().time())
        if len(runs) < 3:
            raise KeyError("a record it cannot read")
        recovered.set()
        await asyncio.Event().wait()  # runs on until stopped

    with capture_logs() as logs:
        lifetime = running(flaky, pause=0.05)
        await anext(lifetime)
        await asyncio.wait_for(recovered.wait(), 5)
        await anext(lifetime, None)  # stops it: no failure left to report

    failures = [entry for entry in logs if entry["event"] == "background loop failed"]
    assert [f["restart_in"] for f in failures] == [0.05, 0.1]
    assert all(f["loop"].endswith("flaky") and f["exc_info"] for f in failures)
    assert runs[2] - runs[1] >= 0.1 > runs[1] - runs[0] >= 0.05  # the pause doubles


async def test_a_loop_that_ends_is_not_started_again() -> None:
    runs = []

    async def once() -> None:
        runs.append(1)

    lifetime = running(once, pause=0.01)
    await anext(lifetime)
    await asyncio.sleep(0.1)
    await anext(lifetime, None)
    assert runs == [1]
