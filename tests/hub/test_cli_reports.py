"""`contacthub reports zone`: shows the cells' calendar, refuses a zone whose days start off
the hour, and keeps the cells by the zone it is given (a real store, the real command)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.periods import Calendar
from core.tally import VOLUME
from storage.base import open_store
from tests.hub.serving import write_config
from tests.hub.test_cli import run
from tests.storage.workload import NO_WINDOW
from tests.support import RecordingRouter, inbound

LATE = datetime(2026, 6, 10, 2, 30, tzinfo=UTC)
"""June 9th in New York (22:30), June 10th in UTC."""


async def test_the_zone_command_keeps_the_cells_by_the_zone_it_is_given(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    await store.open()
    await store.commit_inbound(
        inbound("z1", "email:zed@example.org", at=LATE), RecordingRouter(), NO_WINDOW
    )
    await store.close()

    shown = run("reports", "zone", "--config", str(config))
    assert (shown.returncode, shown.stdout) == (0, "UTC\n"), shown.stderr
    refused = run("reports", "zone", "Asia/Kolkata", "--config", str(config))
    assert refused.returncode == 2
    assert "whole UTC hour" in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = run("reports", "zone", "Mars/Olympus", "--config", str(config))
    assert unknown.returncode == 2
    assert "unknown time zone" in unknown.stderr
    done = run("reports", "zone", "America/New_York", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "report cells kept by America/New_York" in done.stdout
    shown = run("reports", "zone", "--config", str(config))
    assert shown.stdout == "America/New_York\n"
    again = run("reports", "zone", "America/New_York", "--config", str(config))
    assert (again.returncode, again.stdout) == (
        0,
        "report cells already kept by America/New_York\n",
    )

    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    await store.open()
    try:
        assert await store.report_calendar() == Calendar.of("America/New_York")
        ninth = datetime(2026, 6, 9, 4, tzinfo=UTC).timestamp()  # New York's midnight
        rows = await store.rollup([("d", ninth, 0, 1)], None, None, None, kinds=(VOLUME,))
        assert [n for _, _, agent, name, n, _ in rows if name == "created" and not agent] == [1]
    finally:
        await store.close()
