"""`POST /api/customers/{id}/erase` (admin): a customer's personal data erased, with a
receipt of what went (hub/desk/retention.py; the store's part: core/retention.py)."""

from __future__ import annotations

from aiohttp import web

from channels.base import utcnow
from core.errors import InvalidRequest
from core.model import Role
from hub.api.auth import require
from hub.desk.retention import erase_customer
from hub.params import json_body, path_id
from hub.state import SETTINGS, STORE
from storage.blobs import BlobStore


async def erase(request: web.Request) -> web.Response:
    """No body, or `{}`: the erasure is the whole request (it cannot be undone)."""
    token = require(request, Role.ADMIN)
    if request.can_read_body and await json_body(request):
        raise InvalidRequest("erase takes no fields")
    blobs = BlobStore(request.config_dict[SETTINGS].storage.blob_dir)
    receipt = await erase_customer(
        request.config_dict[STORE], blobs, path_id(request), token.name, utcnow()
    )
    return web.json_response(receipt.as_json())


ROUTES = [web.post("/customers/{id}/erase", erase)]
