"""scripts/reliability renders the fault suite's figures: every scenario's numbers in a
table, the date and the commit; a scenario that did not run says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bench.reliability_report import main, read, render

CRASH = {
    "scenario": "sigkill-sqlite", "title": "SIGKILL (sqlite, 1 hub)", "kills": [
        {"hub": 0, "acknowledged_before": 7}], "seconds": 1.5, "refusals": {"form network": 3},
    "channels": {"form": {"sent": 9, "acknowledged": 9, "stored": 9, "missing": 0,
                          "duplicates": 0},
                 "dialer": {"sent": 4, "acknowledged": 4, "stored": 3, "missing": 1,
                            "duplicates": 0}},
}  # fmt: skip


def test_the_report_shows_every_figure_the_date_and_the_commit(tmp_path: Path) -> None:
    (tmp_path / "sigkill-sqlite.json").write_text(json.dumps(CRASH), encoding="utf-8")
    text = render(read(tmp_path), datetime(2026, 12, 2, 21, 0, tzinfo=UTC), "abc123")
    assert "Generated 2026-12-02 21:00 UTC by `scripts/reliability` at commit `abc123`" in text
    assert "| web form | 9 | 9 | 9 | 0 | 0 |" in text
    assert "| dialer callbacks | 4 | 4 | 3 | 1 | 0 |" in text
    assert "| **all** | **13** | **13** | **12** | **1** | **0** |" in text
    assert "hub 0 after 7 acknowledged); 1.5 s of load; 3 attempts" in text
    assert "(sigkill-redis: not run)" in text
    assert "(mta-postfix: not run)" in text


def test_no_figures_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "reliability.md"
    assert main([str(tmp_path / "none"), "--output", str(output)]) == 1
    assert not output.exists()
