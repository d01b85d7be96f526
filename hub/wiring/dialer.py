"""The dialer's wiring: on when Twilio is configured and the hub has a public URL (Twilio
must reach the dialer's webhooks, and their signatures are checked against that URL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from channels.twilio.calls import TwilioCalls
from channels.twilio.dialer import DialerWebhooks
from channels.twilio.webhook import TwilioSignature
from hub.campaigns.desk import CampaignDesk
from hub.campaigns.dialer import Dialer, DialerUrls
from hub.campaigns.progressive import Progressive
from hub.settings.tree import Settings
from storage.base import Store

DIALER: web.AppKey[Progressive | None] = web.AppKey("dialer")
"""The progressive dialer and, through it, the dialer (None: dialing is not configured)."""


def mount_dialer(
    app: web.Application,
    settings: Settings,
    store: Store,
    clock: Callable[[], datetime],
    *,
    background: bool = True,
) -> None:
    twilio, public_url = settings.channels.twilio, settings.server.public_url
    if twilio is None or public_url is None:
        app[DIALER] = None
        return
    token = twilio.auth_token.get_secret_value()
    calls = TwilioCalls(
        twilio.account_sid, token, twilio.api_base, attempts=twilio.send_attempts,
        backoff=twilio.send_backoff.total_seconds(), timeout=twilio.send_timeout.total_seconds(),
    )  # fmt: skip
    dialer = Dialer(CampaignDesk(store, settings.campaigns), calls, DialerUrls(public_url), clock)
    app[DIALER] = progressive = Progressive(dialer)
    hooks = DialerWebhooks(
        TwilioSignature(token, public_url), dialer, settings.server.max_body_bytes
    )
    app.add_routes(hooks.routes())
    app.cleanup_ctx.append(lambda _app: calls.serve())
    if background:  # its webhooks are served by every hub; its loop runs in one
        app.cleanup_ctx.append(lambda _app: progressive.run())
