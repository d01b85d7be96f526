"""The floor: the least a signed, deduplicated, durable webhook costs on the hub's stack.

    python bench/floor_server.py PORT DB SECRET

An aiohttp handler that does only what no contact hub can skip: it reads the body, checks
its `sha256=` HMAC, decodes the JSON, and answers only once the contact is committed to
SQLite (WAL, synchronous=FULL), deduplicated by its external id. Commits are grouped by
one writer thread, as the hub's are. No customer, ticket, routing, record, search, report
or log line. bench/hub_cpu.py measures it beside the bare handler and the hub: what lies
between the floor and the hub is the hub's own work, and what lies between the bare
handler and twice its cost is all that a goal of half the bare rate leaves for both.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import queue
import sqlite3
import sys
import threading
from dataclasses import dataclass

from aiohttp import web

SIGNATURE = "X-Contacthub-Signature"  # as the hub's form channel reads it
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL
)
"""
INSERT = (
    "INSERT INTO messages (dedupe_key, direction, sender, subject, body) "
    "VALUES (?, 'inbound', ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)


@dataclass(slots=True)
class Contact:
    row: tuple[str, str, str, str]
    done: asyncio.Future[None]


class Writer:
    """One thread committing whatever contacts wait, a transaction at a time."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: queue.SimpleQueue[Contact] = queue.SimpleQueue()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute(SCHEMA)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self) -> None:
        while True:
            group = [self.waiting.get()]
            while not self.waiting.empty():
                group.append(self.waiting.get_nowait())
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(INSERT, [contact.row for contact in group])
            self.db.execute("COMMIT")
            self.loop.call_soon_threadsafe(_settle, group)

    async def store(self, row: tuple[str, str, str, str]) -> None:
        done = self.loop.create_future()
        self.waiting.put(Contact(row, done))
        await done


def _settle(group: list[Contact]) -> None:
    for contact in group:
        contact.done.set_result(None)


def application(path: str, secret: bytes) -> web.Application:
    writer: list[Writer] = []

    async def start(_app: web.Application) -> None:
        writer.append(Writer(path, asyncio.get_running_loop()))

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get(SIGNATURE, "").partition("=")[2]
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": "signature"}, status=403)
        form = json.loads(body)
        row = (form["external_id"], form["email"], form["subject"], form["message"])
        await writer[0].store(row)
        return web.json_response({"ticket_id": 1, "outcome": "created"})

    async def ready(_request: web.Request) -> web.Response:
        return web.json_response({"ready": True})

    app = web.Application()
    app.on_startup.append(start)
    app.add_routes([web.post("/webhooks/form", receive), web.get("/readyz", ready)])
    return app


def main() -> None:
    port, path, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
    web.run_app(application(path, secret), host="127.0.0.1", port=port, print=None,
                access_log=None)  # fmt: skip


if __name__ == "__main__":
    main()
