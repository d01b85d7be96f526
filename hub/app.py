"""The aiohttp application: webhooks of the enabled channels, the API, operations.

Every long-lived resource (the store, channel listeners) is opened and closed in the app's
`cleanup_ctx`, so the same app object runs under `contacthub serve`, the demo and tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from channels.base import utcnow
from channels.email.imap import ImapChannel, MailboxHealth
from core.errors import StorageError
from hub.api.app import build_api
from hub.api.events import KEEP_PRESENCE_ALIVE
from hub.api.people import presence_keeper
from hub.campaigns.desk import announce_law
from hub.desk.offers import Offerer
from hub.desk.retention import Sweeper, sweeping
from hub.desk.sla_watch import SlaWatcher
from hub.desk.sla_watch import watching as sla_watching
from hub.drops import DropCounter
from hub.files.fetch import ProviderFiles
from hub.files.sources import file_sources
from hub.http_errors import error_middleware
from hub.ingest import Ingest
from hub.metrics import Metrics
from hub.request_ids import request_ids
from hub.rules.routing import RulesKeeper, RulesRouter, initial_rules, watching
from hub.settings.tree import Settings
from hub.state import (
    CHANNELS,
    CLOCK,
    INGEST,
    METRICS,
    OFFERER,
    PROVIDER_FILES,
    ROUTER,
    RULES,
    SENDERS,
    SETTINGS,
    STORE,
)
from hub.web.routes import web_routes
from hub.web.session import purging as session_purging
from hub.wiring.acknowledgements import email_acknowledger
from hub.wiring.after_commit import after_commit_steps
from hub.wiring.channels import enabled_channels, enabled_senders
from hub.wiring.dialer import mount_dialer
from hub.wiring.services import Services
from hub.wiring.webchat import mount_webchat
from hub.wiring.webchat_siblings import Siblings
from storage.base import open_store
from storage.blobs import BlobStore


def build_app(
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    *,
    background: bool = True,
    siblings: Siblings | None = None,
) -> web.Application:
    """The hub. `background=False` leaves out the loops one hub of several runs for all
    (`serve --workers`: worker 0 runs them): the SLA watcher, the progressive dialer and
    the IMAP pollers. What every hub needs of its own stays: offers (kicked by its own
    ingest, once across hubs by the store), the rules watch, the web chat's feed.
    `siblings`: this worker's place among them, for the web chat's bus on SQLite."""
    announce_law(settings.campaigns)
    metrics = Metrics()
    store = open_store(settings.storage.url)
    router = RulesRouter(
        initial_rules(settings.routing.rules), settings.routing.max_explanation_lines
    )
    keeper = RulesKeeper(router, store, settings.routing.rules)
    dropped = DropCounter(metrics)
    acknowledger = email_acknowledger(settings, store, dropped, metrics.sent_out)
    timeout = settings.agents.presence_timeout
    offerer = Offerer(store, lambda: router.queues, clock, timeout, settings.agents.offer_tick)
    steps = after_commit_steps(settings, store, router, acknowledger, offerer, dropped)
    ingest = Ingest(store, router, settings.threading.policy(), metrics, steps)
    app = web.Application(
        middlewares=[request_ids, error_middleware(metrics)],
        client_max_size=settings.server.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[STORE] = store
    app[ROUTER] = router
    app[RULES] = keeper
    app[METRICS] = metrics
    app[INGEST] = ingest
    app[OFFERER] = offerer
    app[KEEP_PRESENCE_ALIVE] = presence_keeper(store, clock)
    app.cleanup_ctx.append(_store_lifetime)
    app.cleanup_ctx.append(lambda _app: offerer.lifetime(metrics.background_failed))
    interval = settings.routing.watch_interval.total_seconds()
    app.cleanup_ctx.append(lambda _app: watching(keeper, interval))
    if background:
        sla = SlaWatcher(store, router, metrics, clock)
        app.cleanup_ctx.append(lambda _app: sla_watching(sla))
    if settings.retention.closed_after_days:  # 0 keeps closed tickets forever
        sweeper = Sweeper(store, BlobStore(settings.storage.blob_dir), settings.retention, clock)
        app.cleanup_ctx.append(lambda _app: sweeping(sweeper, metrics.background_failed))
    app.cleanup_ctx.append(
        lambda _app: session_purging(store, settings.web, clock, metrics.background_failed)
    )
    policy = settings.threading.policy()
    services = Services(store, router, ingest, metrics, policy, acknowledger, dropped)
    _mount_channels(app, settings, services, background=background)
    mount_dialer(app, settings, store, clock, background=background)
    mount_webchat(app, settings, services, siblings)
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics_page),
            *web_routes(),
        ]
    )
    app.add_subapp("/api/", build_api(store))
    return app


def _mount_channels(
    app: web.Application, settings: Settings, services: Services, *, background: bool
) -> None:
    """Each channel's routes, and its listeners and the senders for the app's lifetime."""
    channels = enabled_channels(settings, services)
    if not background:  # one poller per mailbox, in the hub that runs the background loops
        channels = [(ch, sink) for ch, sink in channels if not isinstance(ch, ImapChannel)]
    app[CHANNELS] = [channel for channel, _ in channels]
    for channel, sink in channels:
        app.add_routes(channel.routes(sink))
        app.cleanup_ctx.append(lambda _app, ch=channel, s=sink: ch.serve(s))
    app[SENDERS] = senders = enabled_senders(settings)
    for sender in senders.values():
        app.cleanup_ctx.append(lambda _app, se=sender: se.serve())
    app[PROVIDER_FILES] = files = ProviderFiles(file_sources(settings))
    app.cleanup_ctx.append(lambda _app: files.lifetime())


async def _store_lifetime(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    await store.open()
    yield
    await store.close()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except StorageError as exc:
        return web.json_response(
            {"status": "unavailable", "checks": {"storage": exc.message}}, status=503
        )
    answer: dict[str, object] = {"status": "ready", "checks": {"storage": "ok"}}
    mailboxes = _mailboxes(request.app)
    if mailboxes:  # details only: one silent mailbox must not take the hub out of service
        answer["mailboxes"] = {m.mailbox: m.as_json() for m in mailboxes}
    return web.json_response(answer)


def _mailboxes(app: web.Application) -> list[MailboxHealth]:
    return [ch.health for ch in app[CHANNELS] if isinstance(ch, ImapChannel)]


async def metrics_page(request: web.Request) -> web.Response:
    try:
        stats = await request.app[STORE].queue_stats()
    except StorageError:
        stats = []  # the scrape still shows counters; /readyz tells the store is down
    request.app[METRICS].mailboxes(_mailboxes(request.app))
    body = request.app[METRICS].render(stats)
    return web.Response(body=body, content_type="text/plain", charset="utf-8")
