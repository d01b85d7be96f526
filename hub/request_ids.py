"""Every HTTP request's id, bound for its log lines and returned to the caller.

A caller's `X-Request-Id` (a load balancer's) is kept when it is a plain token; otherwise
the hub makes one. The id, and the ticket id of a /api/tickets/{id} path, are bound
(hub/log_context.py) for the request's task, so every line it logs carries them.
"""

from __future__ import annotations

import itertools
import os
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.log_context import bound

HEADER = "X-Request-Id"
_PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# 16 hex digits: the process's random half, then its count of requests (unique across the
# workers and restarts of a hub without a uuid4 and its read of the random pool per request)
_PREFIX = os.urandom(4).hex()
_COUNT = itertools.count(1)


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get(HEADER, "")
    request_id = given if _PLAIN.fullmatch(given) else _new_id()
    values: dict[str, object] = {"request_id": request_id}
    ticket = _ticket_in_path(request)
    if ticket is not None:
        values["ticket_id"] = ticket
    with bound(**values):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[HEADER] = request_id
            raise
    if not response.prepared:  # a stream (SSE) already sent its headers
        response.headers[HEADER] = request_id
    return response


def _new_id() -> str:
    return f"{_PREFIX}{next(_COUNT) & 0xFFFFFFFF:08x}"


def _ticket_in_path(request: web.Request) -> str | None:
    parts = request.path.split("/")
    if len(parts) > 3 and parts[1:3] == ["api", "tickets"] and parts[3].isascii():
        return parts[3] if parts[3].isdigit() else None
    return None
