"""An attachment's kept bytes over real HTTP, from an email sent to the hub's SMTP listener:
the same bytes, named and typed as they came, never run in the hub's origin; on both stores."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from core.model import Role
from storage.blobs import BlobStore
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import SUPPORT, send, smtp_port

BOTH_STORES = True
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
FILES: list[tuple[str, str, str, bytes]] = [
    ("invoice.pdf", "application", "pdf", b"%PDF-1.4 " + bytes(range(256))),
    ("photo.png", "image", "png", PNG),
    ("page.html", "text", "html", b"<script>alert(document.cookie)</script>"),
    ("logo.svg", "image", "svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>'),
    ('café "menu".pdf', "application", "pdf", b"%PDF menu"),
    ("huge.bin", "application", "octet-stream", b"x" * 5000),
]
LIMIT = 4096  # huge.bin is over it: listed, not kept


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, db_url: str, tmp_path: Path) -> Hub:
    smtp = {"port": 0, "mailboxes": [SUPPORT], "limits": {"max_attachment_bytes": LIMIT}}
    return await start_hub(
        make_settings(
            storage={"url": db_url, "blob_dir": str(tmp_path / "blobs")}, channels={"smtp": smtp}
        )
    )


async def mailed(hub: Hub) -> tuple[int, list[dict[str, Any]], dict[str, str]]:
    """The ticket of a mail carrying FILES, its message's attachments, an agent's token."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ada@example.com", SUPPORT, "Files"
    message["Message-ID"] = "<files@example.com>"
    message.set_content("Here are the files.")
    for name, main, sub, data in FILES:
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    assert await send(smtp_port(hub), message.as_bytes()) == 250
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.get("/api/tickets?channel=email", headers=auth) as response:
        [ticket] = (await response.json())["items"]
    async with hub.http.get(f"/api/tickets/{ticket['id']}", headers=auth) as response:
        [mail] = (await response.json())["messages"]
    return ticket["id"], mail["attachments"], auth


async def test_each_kept_attachment_is_served_as_it_came_and_never_runs_here(hub: Hub) -> None:
    ticket_id, attachments, auth = await mailed(hub)
    assert [a["name"] for a in attachments] == [name for name, *_ in FILES]
    expected = {
        "invoice.pdf": ("application/pdf", "attachment"),
        "photo.png": ("image/png", "inline"),  # a raster image: shown in the page
        "page.html": ("text/html", "attachment"),  # a page or a script: only ever downloaded
        "logo.svg": ("image/svg+xml", "attachment"),
        'café "menu".pdf': ("application/pdf", "attachment"),
    }
    for attachment, (name, _, _, data) in zip(attachments, FILES, strict=True):
        if name == "huge.bin":
            continue
        assert attachment["download"].startswith(f"/api/tickets/{ticket_id}/messages/")
        async with hub.http.get(attachment["download"], headers=auth) as response:
            assert response.status == 200
            assert await response.read() == data
            kind, disposition = expected[name]
            assert response.headers["Content-Type"] == kind
            assert response.headers["Content-Disposition"].startswith(disposition + "; ")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in response.headers["Content-Security-Policy"]
            assert response.headers["Cache-Control"] == "private, no-store"
        assert hashlib.sha256(data).hexdigest() == attachment["sha256"]
    async with hub.http.get(attachments[4]["download"], headers=auth) as response:
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"caf_ _menu_.pdf\"; filename*=UTF-8''caf%C3%A9%20%22menu%22.pdf"
        )


async def test_a_range_of_a_kept_attachment_is_served(hub: Hub) -> None:
    _, attachments, auth = await mailed(hub)
    headers = {**auth, "Range": "bytes=8-15"}
    async with hub.http.get(attachments[1]["download"], headers=headers) as response:
        assert (response.status, await response.read()) == (206, PNG[8:16])


async def test_what_is_not_kept_or_not_there_is_a_404_saying_why(hub: Hub, tmp_path: Path) -> None:
    ticket_id, attachments, auth = await mailed(hub)
    huge = attachments[-1]
    assert (huge["sha256"], huge["download"], huge["size"]) == (None, None, 5000)
    message_path = attachments[0]["download"].rsplit("/", 1)[0]

    async def refused(path: str) -> tuple[int, str]:
        async with hub.http.get(path, headers=auth) as response:
            return response.status, (await response.json())["error"]

    status, error = await refused(f"{message_path}/{len(FILES) - 1}")
    assert (status, error.startswith("no bytes of attachment 'huge.bin': not kept")) == (404, True)
    assert await refused(f"{message_path}/{len(FILES)}") == (
        404,
        f"no attachment {len(FILES)} of message {message_path.rsplit('/', 2)[1]}"
        f" (it has {len(FILES)})",
    )
    assert (await refused(f"/api/tickets/{ticket_id}/messages/999/attachments/0"))[0] == 404
    assert (await refused("/api/tickets/999/messages/1/attachments/0"))[0] == 404
    assert (await refused(f"{message_path}/x"))[0] == 400
    async with hub.http.get(attachments[0]["download"]) as response:
        assert response.status == 401  # no token, no bytes
    BlobStore(tmp_path / "blobs").path(attachments[0]["sha256"]).unlink()
    status, error = await refused(attachments[0]["download"])
    assert (status, "its file is not in storage.blob_dir" in error) == (404, True)
