"""Background loops: one that fails is logged and started again; stopping always ends them."""

from __future__ import annotations

import asyncio

from prometheus_client import generate_latest
from structlog.testing import capture_logs

from hub.background import running
from hub.metrics import Metrics


async def test_a_failing_loop_is_logged_and_started_again() -> None:
    runs: list[float] = []
    recovered = asyncio.Event()

    async def flaky() -> None:
        runs.append(asyncio.get_running_loop().time())
        if len(runs) < 3:
            raise KeyError("a record it cannot read")
        recovered.set()
        await asyncio.Event().wait()  # runs on until stopped

    told: list[str] = []
    with capture_logs() as logs:
        lifetime = running(flaky, pause=0.05, failed=told.append)
        await anext(lifetime)
        await asyncio.wait_for(recovered.wait(), 5)
        await anext(lifetime, None)  # stops it: no failure left to report

    failures = [entry for entry in logs if entry["event"] == "background loop failed"]
    assert [f["restart_in"] for f in failures] == [0.05, 0.1]
    assert all(f["loop"].endswith("flaky") and f["exc_info"] for f in failures)
    assert runs[2] - runs[1] >= 0.1 > runs[1] - runs[0] >= 0.05  # the pause doubles
    assert len(told) == 2
    assert all(name.endswith("flaky") for name in told)


async def test_the_hubs_metrics_count_each_loops_failures() -> None:
    metrics = Metrics()
    failing = asyncio.Event()

    async def sweeping() -> None:
        if not failing.is_set():
            failing.set()
            raise ValueError("a purge it cannot do")
        await asyncio.Event().wait()

    lifetime = running(sweeping, pause=0.01, failed=metrics.background_failed)
    await anext(lifetime)
    await asyncio.wait_for(failing.wait(), 5)
    await asyncio.sleep(0.05)
    await anext(lifetime, None)
    exposed = generate_latest(metrics.registry).decode()
    loop = f"{test_the_hubs_metrics_count_each_loops_failures.__name__}.<locals>.sweeping"
    assert f'contacthub_background_failures_total{{loop="{loop}"}} 1.0' in exposed


async def test_a_loop_that_ends_is_not_started_again() -> None:
    runs = []

    async def once() -> None:
        runs.append(1)

    lifetime = running(once, pause=0.01)
    await anext(lifetime)
    await asyncio.sleep(0.1)
    await anext(lifetime, None)
    assert runs == [1]
