"""Nothing acknowledged is lost, nothing is stored twice: SIGKILL the hub twice under mixed
load across every channel (tests/hub/mixed_load.py), restart it, count what the store holds.

On SQLite one hub is killed twice; on Redis two hubs share the store and each is killed in
turn while the other goes on serving. The figures go to the reliability report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path

import pytest

from hub.demo.slack_emulator import SlackEmulator
from tests.hub.load_drivers import Chat, Dialer, Driver, Email, Form, Slack, Sms, Voice
from tests.hub.mixed_load import HubProcess, Load
from tests.reliability import Figures, figures
from tests.slack_support import slack_emulator

pytestmark = pytest.mark.slow
__all__ = ["figures"]

PER_CHANNEL = 80


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator(None) as emulator:
        yield emulator


@pytest.fixture(params=["sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.timeout(240)
async def test_sigkill_under_mixed_load_loses_and_doubles_nothing_acknowledged(
    tmp_path: Path, store_kind: str, slack_api: SlackEmulator, figures: Figures,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    if store_kind == "redis":
        url, count = str(request.getfixturevalue("redis_url")), 2
    else:
        url, count = f"sqlite:///{tmp_path / 'hub.db'}", 1
    dialer = Dialer()
    drivers: list[Driver] = [Form(), Sms(), Voice(), Slack(slack_api), Email(), Chat(), dialer]
    hubs = [HubProcess(tmp_path / f"hub{n}") for n in range(count)]
    for hub in hubs:
        hub.write_config(url, slack_api.base_url)
    load = Load(drivers, hubs, PER_CHANNEL)
    kills: list[dict[str, int]] = []

    async def faults(load: Load) -> None:
        # A restart runs on while the load goes on (it takes seconds on a busy machine): the
        # next kill waits only for its own victim's restart.
        restarts: dict[int, asyncio.Task[None]] = {}
        for n, share in enumerate((1 / 4, 1 / 2)):
            await load.until(share)
            index = n % len(hubs)
            if index in restarts:
                await restarts[index]
            before = load.acknowledged()
            await hubs[index].kill()
            kills.append({"hub": index, "acknowledged_before": before})
            restarts[index] = asyncio.create_task(hubs[index].start())
        await asyncio.gather(*restarts.values())

    await dialer.prepare(url, PER_CHANNEL)
    started = time.monotonic()
    try:
        await asyncio.gather(*(hub.start() for hub in hubs))
        await load.run(faults)
    finally:
        for hub in hubs:
            hub.stop()
    seconds = round(time.monotonic() - started, 1)
    tally = await load.tally(url)
    figures.record(
        f"sigkill-{store_kind}",
        f"SIGKILL of the hub under mixed load ({store_kind}, {count} hub{'s' * (count > 1)})",
        store=store_kind, hubs=count, kills=kills, seconds=seconds,
        channels={name: asdict(one) for name, one in tally.items()},
        refusals=dict(sorted(load.refusals.items())),
    )  # fmt: skip
    assert len(kills) == 2
    assert all(kill["acknowledged_before"] < load.total for kill in kills)
    for name, one in tally.items():
        assert (name, one.acknowledged, one.missing, one.duplicates) == (name, PER_CHANNEL, 0, 0)
