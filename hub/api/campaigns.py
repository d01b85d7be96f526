"""The campaign part of the REST API: campaigns, callback lists, the next contact, outcomes.

Outbound teams run campaigns; supervisors and admins may too; every role may read. A
campaign is named in paths by its id or its name. List uploads (`POST .../contacts`, a CSV
body) are streamed to a temporary file, never held in memory, and loaded like
`contacthub campaign load` (hub/campaign_load.py) with numbers normalised on a lazily
started process pool (`[campaigns] workers`; 0, or a list under 256 KiB, normalises in a
thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import structlog
from aiohttp import web
from pydantic import ValidationError

from core.campaigns import Campaign, CampaignState
from core.errors import Forbidden, InvalidRequest, NotFound, PayloadError, PayloadTooLarge
from core.identity import mask, normalise_phone
from core.model import Role, Token
from hub.api.auth import REQUEST_TOKEN, roles_text
from hub.api.campaign_body import CampaignBody, OutcomeBody, RemovalBody
from hub.api.views import iso
from hub.api.views_campaigns import (
    attempt_json,
    campaign_json,
    contact_json,
    dnc_report_json,
    lease_json,
    removal_json,
    report_json,
    stats_json,
)
from hub.campaigns.desk import CampaignDesk, refuse_inbound_queue
from hub.campaigns.load import ListLoad, load_do_not_call, worker_pool
from hub.params import json_body, path_id
from hub.state import CLOCK, ROUTER, SETTINGS, STORE

log = structlog.get_logger("contacthub.campaigns")

RUNNERS = frozenset({Role.OUTBOUND, Role.SUPERVISOR, Role.ADMIN})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
UPLOAD_POOL: web.AppKey[list[ProcessPoolExecutor]] = web.AppKey("campaign_upload_pool")
STATE_ACTIONS = {
    "start": CampaignState.RUNNING,
    "pause": CampaignState.PAUSED,
    "stop": CampaignState.STOPPED,
}


def add_campaign_routes(api: web.Application) -> None:
    api[UPLOAD_POOL] = []
    api.cleanup_ctx.append(_upload_pool)
    api.add_routes(
        [
            web.post("/campaigns", create_campaign),
            web.get("/campaigns", list_campaigns),
            web.get("/campaigns/{key}", get_campaign),
            web.post("/campaigns/{key}/{action:start|pause|stop}", change_state),
            web.post("/campaigns/{key}/contacts", upload_contacts),
            web.get("/campaigns/{key}/contacts/{contact_id:\\d+}", get_contact),
            web.post("/campaigns/{key}/next", next_contact),
            web.post("/campaigns/{key}/attempts/{attempt_id:\\d+}", record_outcome),
            web.get("/campaigns/{key}/stats", campaign_stats),
            web.post("/do-not-call", upload_do_not_call),
            web.get("/do-not-call/{phone}", get_do_not_call),
            web.delete("/do-not-call/{phone}", remove_do_not_call),
        ]
    )


def runner(request: web.Request) -> Token:
    """The caller's token if it may run campaigns (outbound, supervisor, admin)."""
    token = request[REQUEST_TOKEN]
    if not token.roles & RUNNERS:
        raise Forbidden(f"{roles_text(token)} may not run campaigns (needs outbound)")
    return token


def campaign_desk(request: web.Request) -> CampaignDesk:
    return CampaignDesk(request.config_dict[STORE], request.config_dict[SETTINGS].campaigns)


def clock_now(request: web.Request) -> datetime:
    return request.config_dict[CLOCK]()


async def find_campaign(request: web.Request) -> Campaign:
    return await campaign_desk(request).find(request.match_info["key"])


async def create_campaign(request: web.Request) -> web.Response:
    runner(request)
    data = await json_body(request)
    desk = campaign_desk(request)
    try:
        body = CampaignBody.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(problems(exc)) from exc
    spec = body.spec(desk)
    refuse_inbound_queue(request.config_dict[ROUTER].queues, spec.queue)
    campaign = await desk.create(spec, clock_now(request))
    return web.json_response(campaign_json(campaign), status=201)


async def list_campaigns(request: web.Request) -> web.Response:
    campaigns = await request.config_dict[STORE].list_campaigns()
    return web.json_response({"items": [campaign_json(c) for c in campaigns], "next": None})


async def get_campaign(request: web.Request) -> web.Response:
    return web.json_response(campaign_json(await find_campaign(request)))


async def change_state(request: web.Request) -> web.Response:
    runner(request)
    campaign = await find_campaign(request)
    state = STATE_ACTIONS[request.match_info["action"]]
    changed = await request.config_dict[STORE].set_campaign_state(
        campaign.id, state, clock_now(request)
    )
    return web.json_response(campaign_json(changed))


async def next_contact(request: web.Request) -> web.Response:
    """The next callable contact, leased to the caller with a new attempt; 409 with the
    state when the campaign calls nobody; 204 (with when it is worth asking again) when
    nobody is callable now."""
    token = runner(request)
    campaign, now, desk = await find_campaign(request), clock_now(request), campaign_desk(request)
    halted = desk.halted(campaign, now)
    if halted is not None:
        return not_running(campaign, halted)
    lease = await desk.next_lease(campaign, token.name, now)
    if lease is None:
        return await nobody_callable(desk, campaign, now)
    return web.json_response(lease_json(lease, campaign, desk.hours(campaign), now))


def not_running(campaign: Campaign, state: str) -> web.Response:
    body = {"error": f"campaign {campaign.name!r} is {state}", "state": state}
    return web.json_response(body, status=409)


async def nobody_callable(desk: CampaignDesk, campaign: Campaign, now: datetime) -> web.Response:
    """204; `Retry-After` (seconds) and `Next-Window-Opening` when a window opens later."""
    opening = await desk.next_opening(campaign, now)
    headers = {}
    if opening is not None and opening > now:
        wait = math.ceil((opening - now).total_seconds())
        headers = {"Retry-After": str(wait), "Next-Window-Opening": str(iso(opening))}
    return web.Response(status=204, headers=headers)


async def record_outcome(request: web.Request) -> web.Response:
    token = runner(request)
    campaign = await find_campaign(request)
    try:
        body = OutcomeBody.model_validate(await json_body(request))
    except ValidationError as exc:
        raise InvalidRequest(problems(exc)) from exc
    attempt_id = path_id(request, "attempt_id")
    store = request.config_dict[STORE]
    attempt, _ = await store.get_attempt(attempt_id)
    if attempt.agent != token.name and not token.roles & SUPERVISORS:
        raise Forbidden(f"attempt {attempt_id} belongs to {attempt.agent!r}")
    now, desk = clock_now(request), campaign_desk(request)
    contact = await desk.record(
        campaign, attempt_id, body.as_outcome(), now,
        callback_at=body.callback_at, note=body.note, agent=token.name,
    )  # fmt: skip
    return web.json_response(contact_json(contact, desk.hours(campaign), now))


async def get_contact(request: web.Request) -> web.Response:
    campaign = await find_campaign(request)
    contact_id = path_id(request, "contact_id")
    history = await request.config_dict[STORE].get_contact(contact_id)
    if history.contact.campaign_id != campaign.id:
        raise NotFound("contact", contact_id)
    body = contact_json(history.contact, campaign_desk(request).hours(campaign), clock_now(request))
    body["attempts_made"] = [attempt_json(a) for a in history.attempts]
    return web.json_response(body)


async def campaign_stats(request: web.Request) -> web.Response:
    campaign = await find_campaign(request)
    now = clock_now(request)
    stats = await campaign_desk(request).stats(campaign, now)
    return web.json_response(stats_json(stats, now))


async def upload_contacts(request: web.Request) -> web.Response:
    """A CSV body (streamed to a temporary file) loaded into the campaign: the report."""
    runner(request)
    campaign = await find_campaign(request)
    settings = request.config_dict[SETTINGS]
    explicit = _mapping(request.query.getall("map", []))
    region, now = settings.routing.default_region, clock_now(request)
    async with _spooled(request, settings.campaigns.max_upload_mb) as path:
        load = ListLoad(
            request.config_dict[STORE], campaign, region, now,
            batch_rows=settings.campaigns.batch_rows, workers=settings.campaigns.workers,
            explicit=explicit, law=campaign_desk(request).law,
        )  # fmt: skip
        report = await load.run(path, _pool(request, path.stat().st_size))
    return web.json_response(report_json(report))


async def upload_do_not_call(request: web.Request) -> web.Response:
    """Numbers onto the do-not-call list: CSV with a phone column, or one number a line."""
    token = runner(request)
    settings = request.config_dict[SETTINGS]
    source = request.query.get("source") or f"upload by {token.name}"
    async with _spooled(request, settings.campaigns.max_upload_mb) as path:
        region, now = settings.routing.default_region, clock_now(request)
        report = await load_do_not_call(
            request.config_dict[STORE], path, source, region, now, settings.campaigns.batch_rows
        )
    return web.json_response(dnc_report_json(report))


def _phone(request: web.Request) -> str:
    region = request.config_dict[SETTINGS].routing.default_region
    try:
        return normalise_phone(request.match_info["phone"], region)
    except PayloadError as exc:
        raise InvalidRequest(exc.message) from exc


async def get_do_not_call(request: web.Request) -> web.Response:
    """The number's entry and its earlier removals; 404 (with the removals) when unlisted."""
    phone, store = _phone(request), request.config_dict[STORE]
    entry = await store.get_do_not_call(phone)
    removals = [removal_json(r) for r in await store.do_not_call_removals(phone)]
    if entry is None:
        body: dict[str, object] = {"error": f"{phone} is not on the do-not-call list"}
        return web.json_response({**body, "removals": removals}, status=404)
    body = {"phone": entry.phone, "source": entry.source, "added_at": iso(entry.added_at)}
    return web.json_response({**body, "removals": removals})


async def remove_do_not_call(request: web.Request) -> web.Response:
    """Supervisors take a number off the list, saying why; the removal is kept."""
    token = request[REQUEST_TOKEN]
    if not token.roles & SUPERVISORS:
        raise Forbidden(f"{roles_text(token)} may not take numbers off the do-not-call list")
    phone = _phone(request)
    try:
        body = RemovalBody.model_validate(await json_body(request))
    except ValidationError as exc:
        raise InvalidRequest(problems(exc)) from exc
    store = request.config_dict[STORE]
    removal = await store.remove_do_not_call(phone, token.name, body.reason, clock_now(request))
    if removal is None:
        raise NotFound("do-not-call entry", phone)
    log.info("do_not_call_removed", phone=mask(phone), by=token.name, source=removal.source)
    return web.json_response(removal_json(removal))


@contextlib.asynccontextmanager
async def _spooled(request: web.Request, limit_mb: int) -> AsyncIterator[Path]:
    """The request body in a temporary file (removed after), refused past the limit."""
    limit = limit_mb * 1024 * 1024
    handle, name = tempfile.mkstemp(prefix="contacthub-list-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as spool:
            size = 0
            async for chunk in request.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"list over {limit_mb} MB", "api", limit)
                await asyncio.to_thread(spool.write, chunk)
        yield path
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


SMALL_LIST = 256 * 1024
"""Bytes under which a list is normalised in a thread: about one batch of rows, which the
pool could not spread over cores, and whose first upload would wait for the pool's
processes to start and import (seconds on a busy machine, for a list of ten numbers)."""


def _pool(request: web.Request, size: int) -> ProcessPoolExecutor | None:
    if size < SMALL_LIST:
        return None
    workers = request.config_dict[SETTINGS].campaigns.workers
    pools = request.config_dict[UPLOAD_POOL]
    if workers and not pools:
        pools.append(worker_pool(workers))
    return pools[0] if pools else None


async def _upload_pool(api: web.Application) -> AsyncIterator[None]:
    yield
    for pool in api[UPLOAD_POOL]:
        await asyncio.to_thread(pool.shutdown)


def _mapping(items: list[str]) -> dict[str, str]:
    """`map=phone:Mobile` (repeatable): our column, then the header's name."""
    mapping = {}
    for item in items:
        column, sep, header = item.partition(":")
        if not sep or not column or not header:
            raise InvalidRequest(f"map must be COLUMN:HEADER, not {item!r}")
        mapping[column.strip()] = header.strip()
    return mapping


def problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )
