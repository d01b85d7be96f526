"""SQLite operations on stored messages (deliveries, customers' edits), SMS consent, checkpoints.

Each change of a message is on its ticket's record (storage/sqlite/record.py): what the
sender made of a reply, and each later delivery status it did not have (the system's); a
customer's edit or deletion that took effect (the customer's). Every change of a delivery
keeps the ticket's `first_responded_at` true in the same transaction: the time of its first
agent reply a provider accepted (core.model.FAILED_DELIVERY).

Consent keeps the newest word of each phone number by the time it was given, so a STOP and a
START that arrive out of order (provider retries) still leave the customer's last choice.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from core.errors import NotFound
from core.model import FINAL_DELIVERY, Delivery, Message
from core.record import SYSTEM, Actor, Detail, EventKind
from storage.sqlite import search
from storage.sqlite.record import record
from storage.sqlite.rows import MESSAGE_COLUMNS, message_from_row, ts


def record_delivery(db: sqlite3.Connection, message_id: int, delivery: Delivery) -> Message:
    cursor = db.execute(
        "UPDATE messages SET delivery = ?, external_id = ?, error = ? "
        "WHERE id = ? AND direction = 'outbound'",
        (delivery.status, delivery.provider_id, delivery.error, message_id),
    )
    if cursor.rowcount == 0:
        raise NotFound("outbound message", message_id)
    _keep_first_response(db, message_id)
    message = _message(db, message_id)
    _record_delivery(db, message, delivery)  # what the sender made of it, always news
    return message


def _record_delivery(db: sqlite3.Connection, message: Message, delivery: Delivery) -> None:
    """A delivery on its ticket's record (the system's: the provider said so). The time is
    the record's own: providers' reports carry none."""
    detail: dict[str, Detail] = {"message_id": message.id, "status": delivery.status}
    if delivery.error:
        detail["error"] = delivery.error
    record(db, message.ticket_id, EventKind.DELIVERY, SYSTEM, time.time(), detail)


def update_delivery(
    db: sqlite3.Connection, channel: str, provider_id: str, delivery: Delivery
) -> Message | None:
    """A provider's later report; a final status is never replaced (reports come unordered)."""
    row = db.execute(
        "SELECT id, delivery FROM messages "
        "WHERE channel = ? AND external_id = ? AND direction = 'outbound'",
        (channel, provider_id),
    ).fetchone()
    if row is None:
        return None
    message_id, current = row
    if current in FINAL_DELIVERY:
        return _message(db, message_id)
    db.execute(
        "UPDATE messages SET delivery = ?, error = ? WHERE id = ?",
        (delivery.status, delivery.error, message_id),
    )
    _keep_first_response(db, message_id)
    message = _message(db, message_id)
    if current != delivery.status:
        _record_delivery(db, message, delivery)
    return message


_RESPONSE = (
    "direction = 'outbound' AND json_extract(meta, '$.automatic') IS NULL "
    "AND external_id != '' AND delivery NOT IN ('failed', 'undelivered')"
)
"""An agent's reply a provider accepted (its provider id known, its delivery no failure)."""


def _keep_first_response(db: sqlite3.Connection, message_id: int) -> None:
    """An accepted reply may be the first response; one that failed since may have been it."""
    ticket_id, at, counts = db.execute(
        f"SELECT ticket_id, at, {_RESPONSE} FROM messages WHERE id = ?",  # noqa: S608  # our SQL
        (message_id,),
    ).fetchone()
    if counts:
        db.execute(
            "UPDATE tickets SET first_responded_at = min(coalesce(first_responded_at, ?), ?) "
            "WHERE id = ?",
            (at, at, ticket_id),
        )
        return
    db.execute(
        "UPDATE tickets SET first_responded_at = (SELECT min(at) FROM messages "  # noqa: S608  # our SQL
        f"WHERE ticket_id = ? AND {_RESPONSE}) WHERE id = ? AND first_responded_at = ?",
        (ticket_id, ticket_id, at),
    )


def set_sms_opt_out(
    db: sqlite3.Connection, identity_key: str, opted_out: bool, at: datetime
) -> None:
    db.execute(
        "INSERT INTO sms_consent (identity_key, opted_out, at) VALUES (?, ?, ?) "
        "ON CONFLICT (identity_key) DO UPDATE SET opted_out = excluded.opted_out, "
        "at = excluded.at WHERE excluded.at >= sms_consent.at",
        (identity_key, int(opted_out), ts(at)),
    )


def sms_opted_out(db: sqlite3.Connection, identity_key: str) -> bool:
    row = db.execute(
        "SELECT opted_out FROM sms_consent WHERE identity_key = ?", (identity_key,)
    ).fetchone()
    return row is not None and bool(row[0])


def _message(db: sqlite3.Connection, message_id: int) -> Message:
    row = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608  # our columns
        (message_id,),
    ).fetchone()
    return message_from_row(row)


def set_checkpoint(db: sqlite3.Connection, name: str, value: str) -> None:
    db.execute(
        "INSERT INTO checkpoints (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def get_checkpoint(db: sqlite3.Connection, name: str) -> str | None:
    row = db.execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


def edit_message(
    db: sqlite3.Connection, key: str, body: str | None, at: datetime
) -> Message | None:
    """A customer's edit or deletion; edits come unordered (retries), so the newest edit wins,
    an older one changes nothing, and after a deletion nothing does."""
    row = db.execute(
        "SELECT m.id, t.customer_id FROM messages m JOIN tickets t ON t.id = m.ticket_id "
        "WHERE m.dedupe_key = ? AND m.direction = 'inbound'",
        (key,),
    ).fetchone()
    if row is None:
        return None
    message_id, customer_id = row
    kind = _change_message(db, message_id, body, ts(at))
    message = _message(db, message_id)
    if kind is not None:
        detail: dict[str, Detail] = {"message_id": message_id}
        record(db, message.ticket_id, kind, Actor.customer(customer_id), ts(at), detail)
    return message


def _change_message(
    db: sqlite3.Connection, message_id: int, body: str | None, at: float
) -> EventKind | None:
    """Delete or edit the message; what it did, or None when the change was stale."""
    if body is None:
        kind, cursor = (
            EventKind.MESSAGE_DELETED,
            db.execute(
                "UPDATE messages SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (at, message_id),
            ),
        )
    else:
        kind, cursor = (
            EventKind.MESSAGE_EDITED,
            db.execute(
                "UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND deleted_at IS NULL "
                "AND (edited_at IS NULL OR edited_at < ?)",
                (body, at, message_id, at),
            ),
        )
        if cursor.rowcount:
            search.reindex_message(db, message_id, body)
    return kind if cursor.rowcount else None
