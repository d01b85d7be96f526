"""Saved replies on SQLite (core/saved_replies.py): one table, its names unique by their
case-folded key (schema migration 23). Writes are jobs of the store's one writer."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.errors import Conflict, NotFound
from core.json_text import loads
from core.saved_replies import MAX_SAVED_REPLIES, SavedReply, SavedReplyDraft, name_key
from storage.sqlite.rows import Row, dt, json_list, ts

MIGRATION = """
    CREATE TABLE IF NOT EXISTS saved_replies (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- a deleted one's id is never reused
        name       TEXT NOT NULL,
        name_key   TEXT NOT NULL UNIQUE,               -- core.saved_replies.name_key
        body       TEXT NOT NULL,
        queues     TEXT NOT NULL DEFAULT '[]',         -- JSON; [] for every queue
        updated_by TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
"""

_COLUMNS = "id, name, body, queues, updated_by, updated_at"


def list_saved_replies(db: sqlite3.Connection) -> list[SavedReply]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM saved_replies ORDER BY name_key")  # noqa: S608  # our columns
    return [_reply(row) for row in rows]


def save_reply(
    db: sqlite3.Connection, reply_id: int | None, draft: SavedReplyDraft, by: str, now: datetime
) -> SavedReply:
    key = name_key(draft.name)
    holder = db.execute("SELECT id FROM saved_replies WHERE name_key = ?", (key,)).fetchone()
    if holder is not None and holder[0] != reply_id:
        raise Conflict(f"a saved reply is named {draft.name!r} already (id {holder[0]})")
    values = (draft.name, key, draft.body, json_list(draft.queues), by, ts(now))
    if reply_id is None:
        (count,) = db.execute("SELECT count(*) FROM saved_replies").fetchone()
        if count >= MAX_SAVED_REPLIES:
            raise Conflict(f"the hub keeps {MAX_SAVED_REPLIES} saved replies at most")
        cursor = db.execute(
            "INSERT INTO saved_replies (name, name_key, body, queues, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
        reply_id = int(cursor.lastrowid or 0)
    elif not db.execute(
        "UPDATE saved_replies SET name = ?, name_key = ?, body = ?, queues = ?, "
        "updated_by = ?, updated_at = ? WHERE id = ?",
        (*values, reply_id),
    ).rowcount:
        raise NotFound("saved reply", reply_id)
    row = db.execute(f"SELECT {_COLUMNS} FROM saved_replies WHERE id = ?", (reply_id,))  # noqa: S608  # our columns
    return _reply(row.fetchone())


def delete_saved_reply(db: sqlite3.Connection, reply_id: int) -> None:
    if not db.execute("DELETE FROM saved_replies WHERE id = ?", (reply_id,)).rowcount:
        raise NotFound("saved reply", reply_id)


def _reply(row: Row) -> SavedReply:
    id_, name, body, queues, by, at = row
    return SavedReply(int(id_), name, body, tuple(loads(queues)), by, dt(at))
