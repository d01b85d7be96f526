"""SLA deadlines: the moments the SLA watcher must look at a ticket again (a clock's warning
or breach), kept by the store so that every hub instance sees them and exactly one acts."""

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
