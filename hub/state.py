"""The application's shared state: its typed keys (aiohttp AppKeys) and what channels are given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from channels.base import Channel, Sender
from core.model import ThreadPolicy
from hub.ingest import Ingest
from hub.metrics import Metrics
from hub.rules.routing import Routing, RulesKeeper
from hub.settings.tree import Settings
from storage.base import Store

SETTINGS = web.AppKey("settings", Settings)
STORE: web.AppKey[Store] = web.AppKey("store")
ROUTING = web.AppKey("routing", Routing)
RULES = web.AppKey("rules", RulesKeeper)
METRICS = web.AppKey("metrics", Metrics)
INGEST = web.AppKey("ingest", Ingest)
SENDERS: web.AppKey[Mapping[str, Sender]] = web.AppKey("senders")
CHANNELS: web.AppKey[list[Channel]] = web.AppKey("channels")


@dataclass(frozen=True, slots=True)
class Services:
    """What the hub hands its channels (channels import neither storage nor routing)."""

    store: Store
    routing: Routing
    ingest: Ingest
    metrics: Metrics
    policy: ThreadPolicy
