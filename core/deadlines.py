"""SLA deadlines and marks: the moments the SLA watcher must look at a ticket again (a
clock's warning or breach), kept by the store so that every hub instance sees them and
exactly one acts; and each ticket's clocks and standing as last computed, kept with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WARNING = "warning"
BREACH = "breach"


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a clock of a ticket warns or breaches (`kind`), if nothing happens before."""

    ticket_id: int
    metric: str
    kind: str  # WARNING or BREACH
    key: str  # the clock's instance (when it started): an older instance's deadline is stale
    due: datetime

    @property
    def slot(self) -> str:
        """What a ticket has at most one deadline of at a time."""
        return f"{self.ticket_id}|{self.metric}|{self.kind}"

    @property
    def version(self) -> str:
        """The slot's content: a deadline replaced since it was claimed is not finished."""
        return f"{self.key}|{self.due.timestamp()!r}"


AT_RISK = "at_risk"
BREACHED = "breached"
STANDINGS = (AT_RISK, BREACHED)
"""A ticket's SLA standing, as `GET /api/tickets?sla=` filters it ("" : neither): breached
when a clock of a running ticket breached and still waits for what stops it; at risk when
none did and one is past its warning. Paused (pending) and solved tickets stand nowhere."""


@dataclass(frozen=True, slots=True)
class ClockMark:
    """One metric's clock as computed at `SlaMarks.at` (router/sla/clock.py's Clock)."""

    metric: str
    state: str  # active | paused | warning | met | breached
    due_at: datetime | None
    warn_at: datetime | None
    business_seconds: float
    running: bool  # the business time still grows (the clock waits, the ticket is worked)


@dataclass(frozen=True, slots=True)
class SlaMarks:
    """A ticket's SLA computed at `at` from its record (and the change that carries it):
    the standing the listings filter on, the clocks the listings show, and the deadlines the
    watcher acts on. The store writes them in the same atomic step as that change, only if
    the newest event on the ticket's record before it is still `basis` (None: whatever it
    is), so marks computed from a record another change has moved on are never written (the
    watcher computes them again from the whole record)."""

    at: datetime
    standing: str = ""  # "", AT_RISK or BREACHED
    clocks: tuple[ClockMark, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    basis: int | None = None
