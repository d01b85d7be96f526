"""The collector's tuning for `contacthub serve`: startup's objects frozen, young passes
spaced, the older generations' thresholds kept."""

from __future__ import annotations

import gc

from aiohttp import web

from hub.cli.collector import YOUNG, settle


async def test_settling_freezes_what_startup_made_and_spaces_the_young_passes() -> None:
    before = gc.get_threshold()
    try:
        await settle(web.Application())
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG, before[1], before[2])
    finally:  # the test process goes on as it was
        gc.unfreeze()
        gc.set_threshold(*before)
