"""A ticket's SLA marks (core.deadlines.SlaMarks, without the deadlines, which are kept
apart for the watcher) as both backends keep them beside the ticket: one compact JSON text,
times as epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from core.deadlines import ClockMark, SlaMarks
from core.json_text import dumps, loads


def marks_json(marks: SlaMarks) -> str:
    clocks = [
        [c.metric, c.state, _ts(c.due_at), _ts(c.warn_at), c.business_seconds, int(c.running)]
        for c in marks.clocks
    ]
    return dumps({"at": marks.at.timestamp(), "s": marks.standing, "c": clocks})


def marks_from_json(text: str | None) -> SlaMarks | None:
    if not text:
        return None
    data = loads(text)
    clocks = tuple(
        ClockMark(metric, state, _dt(due), _dt(warn), float(seconds), bool(running))
        for metric, state, due, warn, seconds, running in data["c"]
    )
    return SlaMarks(datetime.fromtimestamp(data["at"], UTC), data["s"], clocks)


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _dt(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
