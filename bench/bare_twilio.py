"""The bare stack for Twilio webhooks: an aiohttp handler answering the hub's TwiML.

    python bench/bare_twilio.py PORT plain|validate AUTH_TOKEN PUBLIC_URL

`plain` reads the form and answers; `validate` also checks X-Twilio-Signature with twilio's
RequestValidator.validate, as a typical application does (it computes the HMAC of the URL
with and without the port, every time).
"""

from __future__ import annotations

import os
import sys

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

ANSWER = str(MessagingResponse().message("Thanks, we got your message.").to_xml())


def build(mode: str, token: str, public_url: str) -> web.Application:
    validator = RequestValidator(token)

    async def receive(request: web.Request) -> web.Response:
        params = await request.post()
        if mode == "validate":
            url = public_url + request.path_qs
            if not validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")):
                return web.Response(status=403)
        return web.Response(text=ANSWER, content_type="text/xml")

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.post("/webhooks/twilio/sms", receive), web.get("/readyz", ready)])
    return app


def main() -> None:
    port, mode, token, public_url = sys.argv[1:5]
    app = build(mode, token, public_url)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None,
                reuse_port=os.environ.get("BENCH_REUSE_PORT") == "1" or None)  # fmt: skip


if __name__ == "__main__":
    main()
