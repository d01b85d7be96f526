"""Every HTTP request's id, bound for its log lines and returned to the caller.

A caller's `X-Request-Id` (a load balancer's) is kept when it is a plain token; otherwise
the hub makes one. The id, and the ticket id of a /api/tickets/{id} path, are bound in
structlog's contextvars for the request's task, so every line it logs carries them.
"""

from __future__ import annotations

import re
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler
from structlog.contextvars import bound_contextvars

HEADER = "X-Request-Id"
_PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get(HEADER, "")
    request_id = given if _PLAIN.fullmatch(given) else uuid.uuid4().hex[:16]
    bound: dict[str, object] = {"request_id": request_id}
    ticket = _ticket_in_path(request)
    if ticket is not None:
        bound["ticket_id"] = ticket
    with bound_contextvars(**bound):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[HEADER] = request_id
            raise
    if not response.prepared:  # a stream (SSE) already sent its headers
        response.headers[HEADER] = request_id
    return response


def _ticket_in_path(request: web.Request) -> str | None:
    parts = request.path.split("/")
    if len(parts) > 3 and parts[1:3] == ["api", "tickets"] and parts[3].isascii():
        return parts[3] if parts[3].isdigit() else None
    return None
