"""`GET /api/tickets/{id}/messages/{message_id}/attachments/{n}`: an attachment's bytes, as
the hub kept them (the blob store: an email's files and inline images, a message kept whole),
or fetched from the provider that keeps them, with the channel's credentials (a Slack file, a
Twilio media item: hub/files/fetch.py), passed through and never stored.

An attachment is the customer's file served from the hub's own origin, where the agents'
session lives: it must never run there. So every answer is `nosniff` and sandboxed by its
Content-Security-Policy, and only raster images (which a browser never runs) are shown
inline; everything else (HTML, SVG, PDF, an unknown type) is a download.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web

from core.errors import NotFound
from core.model import Attachment, Message, Ticket
from hub.params import path_id
from hub.state import PROVIDER_FILES, SETTINGS, STORE
from storage.blobs import BlobStore

INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
"""Types shown in the page: raster images, which carry no script."""
_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_CACHE = "private, no-store"
"""A customer's file (an ID card, an invoice) is not kept in the agent's browser: an erasure
must not leave a copy there."""
_UNTYPED = frozenset({"application/octet-stream", "binary/octet-stream"})


async def get_attachment(request: web.Request) -> web.StreamResponse:
    ticket = await request.config_dict[STORE].get_ticket(path_id(request))
    message = _message(ticket, path_id(request, "message_id"))
    attachment = _attachment(message, path_id(request, "n"))
    if attachment.sha256 is None:
        return await _from_provider(request, message.channel, attachment)
    path = BlobStore(request.config_dict[SETTINGS].storage.blob_dir).path(attachment.sha256)
    if not path.is_file():
        raise NotFound(
            "bytes of attachment", f"{attachment.name!r}: its file is not in storage.blob_dir"
            " (erased since, or the hubs do not share that folder)",
        )  # fmt: skip
    return web.FileResponse(path, headers=_headers(attachment.name, attachment.content_type))


async def _from_provider(
    request: web.Request, channel: str, attachment: Attachment
) -> web.StreamResponse:
    """The provider's bytes as they arrive; their type is the provider's when it names one."""
    files = request.config_dict[PROVIDER_FILES]
    source, url = files.source_of(channel, attachment)
    async with files.fetching(source, url, attachment.name) as upstream:
        kind = upstream.content_type
        if not _TYPE.fullmatch(kind) or kind in _UNTYPED:
            kind = attachment.content_type
        return await upstream.pass_to(request, _headers(attachment.name, kind))


def _message(ticket: Ticket, message_id: int) -> Message:
    for message in ticket.messages:
        if message.id == message_id:
            return message
    raise NotFound("message", f"{message_id} on ticket {ticket.id}")


def _attachment(message: Message, n: int) -> Attachment:
    if n >= len(message.attachments):
        raise NotFound(
            "attachment", f"{n} of message {message.id} (it has {len(message.attachments)})"
        )
    return message.attachments[n]


def _headers(name: str, content_type: str) -> dict[str, str]:
    kind = content_type.lower().strip()
    kind = kind if _TYPE.fullmatch(kind) else "application/octet-stream"
    disposition = "inline" if kind in INLINE else "attachment"
    return {
        "Content-Type": kind,
        "Content-Disposition": f"{disposition}; {_filename(name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": _CACHE,
    }


def _filename(name: str) -> str:
    """RFC 6266: an ASCII fallback for old clients, and the name itself in UTF-8."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"filename=\"{plain or 'attachment'}\"; filename*=UTF-8''{quote(name, safe='')}"


ROUTES = [web.get("/tickets/{id}/messages/{message_id}/attachments/{n}", get_attachment)]
