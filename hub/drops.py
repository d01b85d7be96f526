"""What the channels drop, counted by kind, the first of each kind logged with its setting.

`contacthub_dropped_total{channel,reason}` counts every drop; the first of a kind in a hub's
life is logged (a warning when a setting would take it: likely a configuration the operator
did not mean; info otherwise), so a silent gap shows in the log and the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from channels.base import Dropped
from hub.metrics import Metrics

log = structlog.get_logger("contacthub.drops")


@dataclass
class DropCounter:
    """The hub's DropReport."""

    metrics: Metrics
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def __call__(self, dropped: Dropped) -> None:
        self.metrics.dropped.labels(dropped.channel, dropped.kind).inc()
        kind = (dropped.channel, dropped.kind)
        if kind in self._seen:
            return
        self._seen.add(kind)
        say = log.warning if dropped.setting else log.info
        say(
            "dropped_first_of_kind",
            channel=dropped.channel,
            reason=dropped.kind,
            detail=dropped.reason,
            setting=dropped.setting or "none: nothing takes it",
            metric=f'contacthub_dropped_total{{channel="{dropped.channel}",reason="{dropped.kind}"}}',
        )
