"""Prometheus metrics of one hub (a registry per app, so tests can run several apps).

Under `serve --workers N` a scrape reaches one worker, so each worker's figures alone would
jump between scrapes (and read to Prometheus as counter resets). The supervisor gives the
workers a directory for prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`):
every worker writes its values there, and any worker's scrape reads all of them, counters
and histograms summed; the gauges a scrape sets from the store (queue depths) or worker 0
sets (mailboxes) show the most recent value set by any worker."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from channels.email.imap import MailboxHealth
from core.model import QueueStats

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's name for it
_SHARED: Final = "mostrecent"  # a gauge under the workers: the last value any of them set

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
        self.dropped = Counter(
            "contacthub_dropped",
            "What a channel kept or sent nothing of, by channel and reason (hub/drops.py).",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.queue_waiting = Gauge(
            "contacthub_queue_waiting",
            "Tickets waiting to be claimed, by queue.",
            ["queue"],
            registry=self.registry,
            multiprocess_mode=_SHARED,
        )
        self.queue_open = Gauge(
            "contacthub_queue_open", "Open tickets, by queue.", ["queue"],
            registry=self.registry, multiprocess_mode=_SHARED,
        )  # fmt: skip
        self.sla_breaches = Counter(
            "contacthub_sla_breaches",
            "SLA clocks breached, by the ticket's queue and the metric (counted once each).",
            ["queue", "metric"],
            registry=self.registry,
        )
        self.sla_at_risk = Gauge(
            "contacthub_sla_at_risk",
            "Open tickets whose SLA is at risk (a running clock past its warning, none "
            "breached), by queue: counts the store keeps with every change, read per scrape.",
            ["queue"],
            registry=self.registry,
            multiprocess_mode=_SHARED,
        )
        self.outbound = Counter(
            "contacthub_outbound",
            "Messages to customers handed to their channel, by channel, kind (reply, "
            "acknowledgement) and what the provider said (sent, delivered, failed, ...).",
            ["channel", "kind", "status"],
            registry=self.registry,
        )
        self.background_failures = Counter(
            "contacthub_background_failures",
            "Background loops (offers, SLA watch, retention, sessions) that failed and were "
            "started again, by loop (hub/background.py).",
            ["loop"],
            registry=self.registry,
        )
        self._queues: set[str] = set()
        self.mailbox_up = self._mailbox_gauge(
            "up", "1 while the IMAP mailbox's poller is connected."
        )
        self.mailbox_fetched = self._mailbox_gauge(
            "last_fetch_timestamp_seconds", "When the IMAP mailbox was last read through."
        )
        self.mailbox_errors = self._mailbox_gauge(
            "errors", "Failures of the IMAP mailbox's poller."
        )
        self.mailbox_ingested = self._mailbox_gauge(
            "ingested", "Messages the IMAP mailbox's poller committed since start."
        )

    def background_failed(self, loop: str) -> None:
        self.background_failures.labels(loop).inc()

    def sent_out(self, channel: str, kind: str, status: str) -> None:
        """A message to a customer went to its channel: what the channel's sender said."""
        self.outbound.labels(channel, kind, status).inc()

    def _mailbox_gauge(self, name: str, text: str) -> Gauge:
        return Gauge(
            f"contacthub_mailbox_{name}", text, ["mailbox"],
            registry=self.registry, multiprocess_mode=_SHARED,
        )  # fmt: skip

    def mailboxes(self, healths: Sequence[MailboxHealth]) -> None:
        """Gauges of the IMAP mailboxes, set from their health at each scrape."""
        for health in healths:
            self.mailbox_up.labels(health.mailbox).set(int(health.connected))
            fetched = health.last_fetch_at.timestamp() if health.last_fetch_at else 0
            self.mailbox_fetched.labels(health.mailbox).set(fetched)
            self.mailbox_errors.labels(health.mailbox).set(health.errors)
            self.mailbox_ingested.labels(health.mailbox).set(health.ingested)

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
            self.sla_at_risk.labels(queue.name).set(queue.at_risk)
        emptied = self._queues - {queue.name for queue in stats}
        for name in emptied:  # no open ticket left there: nothing waits, nothing at risk
            for gauge in (self.queue_waiting, self.queue_open, self.sla_at_risk):
                gauge.labels(name).set(0)
        self._queues = {queue.name for queue in stats}
        if os.environ.get(MULTIPROCESS_ENV):  # every worker's values, not this one's alone
            every = CollectorRegistry()
            MultiProcessCollector(every)  # type: ignore[no-untyped-call]  # untyped in the library
            return generate_latest(every)
        return generate_latest(self.registry)
