"""What the hub hands the wiring of its channels (channels import neither storage nor routing)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import DropReport, unreported
from core.model import ThreadPolicy
from hub.ingest import Ingest
from hub.metrics import Metrics
from hub.rules.routing import RulesRouter
from hub.wiring.acknowledgements import Acknowledger
from storage.base import Store


@dataclass(frozen=True, slots=True)
class Services:
    store: Store
    router: RulesRouter
    ingest: Ingest
    metrics: Metrics
    policy: ThreadPolicy
    acknowledger: Acknowledger | None = None  # a step of the ingest that needs a lifetime
    dropped: DropReport = unreported  # hub/drops.py counts and logs them
