"""Slack's Socket Mode: the same bolt app, fed over a WebSocket the hub opens to Slack.

For hubs without a public URL. apps.connections.open (with the app-level token, `xapp-...`)
gives a WebSocket URL; Slack pushes envelopes over it and redelivers any it does not see
acknowledged. bolt's Socket Mode handler acknowledges only a 200 from the app, and with
`process_before_response=True` that 200 comes after the commit: a contact that could not be
stored (StorageUnavailable) is not acknowledged, so Slack sends it again. Requests on the
socket are authenticated by the connection itself; they carry no signature.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger("contacthub.slack")
MAX_DELAY = 60.0


@contextlib.asynccontextmanager
async def socket_mode(app: AsyncApp, app_token: str, client: AsyncWebClient) -> AsyncIterator[None]:
    """Connected (or trying to connect, with backoff) while the context is open."""
    handler = AsyncSocketModeHandler(app, app_token, web_client=client)
    connecting = asyncio.create_task(_connect(handler), name="slack-socket-mode")
    try:
        yield
    finally:
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await handler.close_async()  # type: ignore[no-untyped-call]  # slack-bolt leaves it untyped


async def _connect(handler: AsyncSocketModeHandler) -> None:
    """The first connection; after it, slack_sdk's client reconnects by itself."""
    delay = 1.0
    while True:
        try:
            await handler.connect_async()  # type: ignore[no-untyped-call]  # as close_async
        except (SlackApiError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("slack_socket_connect_failed", error=str(exc).splitlines()[0], retry=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
        else:
            log.info("slack_socket_connected")
            return
