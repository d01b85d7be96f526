"""Reports as JSON and as CSV, the CSV safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from aiohttp import web

from router.reports import Share, Spread, Summary
from router.series import SeriesRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may run as a formula when a cell begins with it."""
Cell = str | int | float | None


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "created": summary.created,
        "resolved": summary.resolved,
        "backlog": summary.backlog,
        "first_response": asdict(summary.first_response),
        "resolution": asdict(summary.resolution),
        "one_touch": asdict(summary.one_touch),
        "repeat_contact": asdict(summary.repeat_contact),
        "agents": [asdict(agent) for agent in summary.agents],
        "sla": asdict(summary.sla),
        "sla_by_clock": {clock: asdict(share) for clock, share in summary.sla_clocks},
    }


def volume_json(row: SeriesRow) -> dict[str, Any]:
    return {
        "bucket": row.bucket.isoformat(),
        "key": row.key,
        "count": row.count,
        "first_response": asdict(row.first_response),
        "sla": asdict(row.sla),
        "breached": row.breached,
    }


VOLUME_HEAD: list[Cell] = [
    *("bucket", "key", "count", "first_response_p50", "first_response_p90"),
    *("sla_of", "sla_met", "sla_percent", "breached"),
]


def volume_rows(rows: Sequence[SeriesRow]) -> list[list[Cell]]:
    """The series as a table: the first three columns as they always were, then the rest."""
    return [VOLUME_HEAD] + [
        [r.bucket.isoformat(), r.key, r.count, r.first_response.p50, r.first_response.p90,
         r.sla.of, r.sla.count, r.sla.percent, r.breached]
        for r in rows
    ]  # fmt: skip


SUMMARY_HEAD: list[Cell] = ["metric", "agent", "count", "of", "percent", "p50", "p90", "mean"]


def summary_rows(summary: Summary) -> list[list[Cell]]:
    """The summary as one table: a row a figure, the agents' after the team's."""
    rows: list[list[Cell]] = [SUMMARY_HEAD]
    rows += [[name, "", count] for name, count in
             (("created", summary.created), ("resolved", summary.resolved),
              ("backlog", summary.backlog))]  # fmt: skip
    rows += [_spread("first_response", "", summary.first_response),
             _spread("resolution", "", summary.resolution),
             _share("one_touch", summary.one_touch),
             _share("repeat_contact", summary.repeat_contact),
             _share("sla", summary.sla)]  # fmt: skip
    rows += [_share(f"sla_{clock}", share) for clock, share in summary.sla_clocks]
    for agent in summary.agents:
        rows.append(["agent_handled", agent.agent, agent.handled])
        rows.append(_spread("agent_first_response", agent.agent, agent.first_response))
        rows.append(_spread("agent_handle_time", agent.agent, agent.handle_time))
    return rows


def _spread(name: str, agent: str, spread: Spread) -> list[Cell]:
    return [name, agent, spread.count, None, None, spread.p50, spread.p90, spread.mean]


def _share(name: str, share: Share) -> list[Cell]:
    return [name, "", share.count, share.of, share.percent]


def neutralised(cell: Cell) -> Cell:
    """A text cell a spreadsheet would run as a formula, made plain text (a leading ')."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_response(name: str, rows: Sequence[Sequence[Cell]]) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else neutralised(cell) for cell in row])
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
