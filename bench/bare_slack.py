"""The bare stack for Slack events: an aiohttp handler, plain or with slack-bolt.

    python bench/bare_slack.py PORT plain|bolt SIGNING_SECRET

`plain` reads the body and answers 200; `bolt` is what a typical bolt-on-aiohttp app costs
without storage: slack_sdk's SignatureVerifier, then bolt's AsyncApp (request verification
off, as it was just done; process_before_response) dispatching to a listener that does
nothing, through bolt's own aiohttp adapter functions.
"""

from __future__ import annotations

import os
import sys

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.signature import SignatureVerifier


def build(mode: str, secret: str) -> web.Application:
    verifier = SignatureVerifier(secret)

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-b")  # noqa: S106  # never sent

    bolt = AsyncApp(
        process_before_response=True, request_verification_enabled=False, authorize=authorize
    )

    async def on_message() -> None:
        return None

    bolt.event("message")(on_message)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if mode == "plain":
            return web.json_response({"ticket_id": 1, "outcome": "created"})
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=403)
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.post("/webhooks/slack/events", receive), web.get("/readyz", ready)])
    return app


def main() -> None:
    port, mode, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    web.run_app(build(mode, secret), host="127.0.0.1", port=port, print=None, access_log=None,
                reuse_port=os.environ.get("BENCH_REUSE_PORT") == "1" or None)  # fmt: skip


if __name__ == "__main__":
    main()
