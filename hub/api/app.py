"""The REST API under /api/ as one sub-application, behind bearer-token authentication."""

from __future__ import annotations

from aiohttp import web

from hub.api import (
    attachments,
    campaigns,
    changes,
    chat,
    customers,
    dialer,
    erasure,
    offers,
    people,
    reports,
    rules,
    saved_replies,
    tickets,
)
from hub.api.auth import auth_middleware
from hub.api.events import add_event_routes
from hub.api.feed import Feed
from hub.api.openapi import OPENAPI
from storage.base import Store


def build_api(store: Store) -> web.Application:
    api = web.Application(middlewares=[auth_middleware(store)])
    api.add_routes(
        [
            web.get("/openapi.json", openapi),
            *tickets.ROUTES,
            *attachments.ROUTES,
            *changes.ROUTES,
            *customers.ROUTES,
            *erasure.ROUTES,
            *rules.ROUTES,
            *people.ROUTES,
            *offers.ROUTES,
            *reports.ROUTES,
            *chat.ROUTES,
            *saved_replies.ROUTES,
        ]
    )
    campaigns.add_campaign_routes(api)
    dialer.add_dialer_routes(api)
    add_event_routes(api, Feed(store))
    return api


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)
