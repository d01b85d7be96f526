"""`contacthub reports zone [ZONE]`: the calendar the report cells keep their days by.

A year's daily series reads one cell a day when its days are the cells' days (else a day
cell plus and minus hour cells, ~2.2 times the rows): a center that reports in its own zone
keeps its cells by it. Store-only, like the agent commands: it reads only `[storage]`.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from core.periods import Calendar
from hub.cli.common import config_option
from hub.cli.logs import configure_logging
from hub.cli.people import storage_url, with_store
from storage.base import Store


@click.group()
def reports() -> None:
    """The reports' rollup cells."""


@reports.command()
@click.argument("zone", required=False)
@config_option
def zone(zone: str | None, config: Path | None) -> None:
    """Show the zone whose days and months the report cells are kept by, or keep them by
    ZONE (an IANA name such as America/New_York, or UTC) from now on: the cells are made
    again from what they count, which takes minutes on a big store. Stop the hubs first
    (what they wrote meanwhile could be counted twice or not at all)."""
    configure_logging("warning")
    url = storage_url(config)
    if zone is None:
        shown = with_store(url, lambda store: store.report_calendar())
        click.echo(shown.zone)
        return
    try:
        chosen = Calendar.of(zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ZONE") from exc

    async def change(store: Store) -> float | None:
        if await store.report_calendar() == chosen:
            return None  # nothing to make again
        started = time.monotonic()
        await store.set_report_calendar(chosen)
        return time.monotonic() - started

    took = with_store(url, change)
    if took is None:
        click.echo(f"report cells already kept by {chosen.zone}")
    else:
        click.echo(f"report cells kept by {chosen.zone} (made again in {took:.1f} s)")
