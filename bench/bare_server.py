"""The bare stack: an aiohttp handler that reads the body and answers a small JSON 200.

Benchmarks measure contacthub against this, in the same run, on the same machine.
"""

from __future__ import annotations

import os
import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ticket_id": 1, "outcome": "created"})


def main() -> None:
    app = web.Application()
    app.add_routes([web.post("/webhooks/form", receive), web.get("/readyz", receive)])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None,
                reuse_port=os.environ.get("BENCH_REUSE_PORT") == "1" or None)  # fmt: skip


if __name__ == "__main__":
    main()
