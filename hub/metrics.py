"""Prometheus metrics of one hub (a registry per app, so tests can run several apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from core.model import QueueStats

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self.contacts = Counter(
            "contacthub_contacts",
            "Inbound contacts by channel and outcome (created, appended, duplicate, failed).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "contacthub_ingest_seconds",
            "Time from a parsed contact to its committed ticket.",
            ["channel"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "contacthub_webhook_rejected",
            "Webhook requests refused, by channel, reason and the URL that was checked.",
            ["channel", "reason", "path"],
            registry=self.registry,
        )
        self.queue_waiting = Gauge(
            "contacthub_queue_waiting",
            "Tickets waiting to be claimed, by queue.",
            ["queue"],
            registry=self.registry,
        )
        self.queue_open = Gauge(
            "contacthub_queue_open", "Open tickets, by queue.", ["queue"], registry=self.registry
        )

    def ingested(self, channel: str, outcome: str, seconds: float) -> None:
        """Count one committed contact (label children cached: this is the hot path)."""
        key = (channel, outcome)
        children = self._children.get(key)
        if children is None:
            children = (
                self.contacts.labels(channel, outcome),
                self.ingest_seconds.labels(channel),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self, stats: list[QueueStats]) -> bytes:
        """The exposition text, with queue gauges set from a fresh reading."""
        for queue in stats:
            self.queue_waiting.labels(queue.name).set(queue.waiting)
            self.queue_open.labels(queue.name).set(queue.open)
        return generate_latest(self.registry)
