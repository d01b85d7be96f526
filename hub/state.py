"""Typed keys of the application state (aiohttp AppKeys), shared by the app's faces."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from aiohttp import web

from channels.base import Channel, Sender
from hub.desk.offers import Offerer
from hub.files.fetch import ProviderFiles
from hub.ingest import Ingest
from hub.metrics import Metrics
from hub.rules.routing import RulesKeeper, RulesRouter
from hub.settings.tree import Settings
from storage.base import Store

SETTINGS = web.AppKey("settings", Settings)
STORE: web.AppKey[Store] = web.AppKey("store")
ROUTER = web.AppKey("router", RulesRouter)
RULES = web.AppKey("rules", RulesKeeper)
METRICS = web.AppKey("metrics", Metrics)
INGEST = web.AppKey("ingest", Ingest)
SENDERS: web.AppKey[Mapping[str, Sender]] = web.AppKey("senders")
CHANNELS: web.AppKey[list[Channel]] = web.AppKey("channels")
OFFERER = web.AppKey("offerer", Offerer)
PROVIDER_FILES = web.AppKey("provider_files", ProviderFiles)
"""Provider-linked attachments (Slack files, Twilio media): fetched for agents on demand."""
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
"""The app's clock (UTC): the wall clock, or a test's, so calling hours are testable at noon."""
