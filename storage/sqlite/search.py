"""The words index of ticket texts on SQLite, for listings with a search (`TicketFilter.text`).

One FTS5 table, `contact_words`, holds the words of core.search (never the raw text, so both
stores tokenise alike), one row per message (rowid: the message id); the message that made
a ticket carries its ticket's subject words too; an automatic message (an acknowledgement,
whose template would match every ticket it went to) has none. Its `ascii` tokenizer only splits the
stored words at the spaces between them. The rows are written by the same writer job, in the
same transaction, as the subject or message they index, so a search never sees one without
the other; a text without words has no row.

One table, and one row per new contact (schema migration 19): FTS5 writes each table's
words of a transaction as a segment at COMMIT, at a cost per table and transaction that
the few contacts of a group commit under ordinary load do not spread (the subject's table
and the message's: ~150 µs of CPU per contact committed alone, ~95 merged; ~31 and ~25 at
twenty a commit).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from core.model import Inbound, Outcome
from core.search import words

_BACKFILL_BATCH = 1000
TABLE = "contact_words"

MERGE_MIGRATION = """
    CREATE VIRTUAL TABLE contact_words USING fts5(words, tokenize = 'ascii');
    INSERT INTO contact_words (rowid, words)
        SELECT m.id, trim(coalesce(s.words, '') || ' ' || coalesce(w.words, ''))
        FROM messages m
        LEFT JOIN message_words w ON w.rowid = m.id
        LEFT JOIN subject_words s ON s.rowid = m.ticket_id
            AND m.id = (SELECT min(f.id) FROM messages f WHERE f.ticket_id = m.ticket_id)
        WHERE w.words IS NOT NULL OR s.words IS NOT NULL;
    DROP TABLE subject_words;
    DROP TABLE message_words;
"""
"""19: the subjects' and the messages' words in one table (a word twice in one row is
harmless: the search asks only whether a row has it)."""


UNINDEX_AUTOMATIC_MIGRATION = """
    DELETE FROM contact_words WHERE rowid IN (
        SELECT id FROM messages
        WHERE direction = 'outbound' AND json_extract(meta, '$.automatic') IS NOT NULL);
"""
"""20: the words of automatic messages go (changes.append_outbound no longer writes them)."""


def index_contact(
    db: sqlite3.Connection, outcome: Outcome, ticket_id: int, message_id: int, inbound: Inbound
) -> None:
    """Index an ingested contact: its message, with the subject of the ticket it created."""
    found = words(inbound.text)
    if outcome is Outcome.CREATED:
        found = tuple(sorted({*found, *words(inbound.subject)}))
    _write(db, message_id, found)


def index_message(db: sqlite3.Connection, message_id: int, body: str) -> None:
    _write(db, message_id, words(body))


def reindex_message(db: sqlite3.Connection, message_id: int, body: str) -> None:
    """A message whose body changed (a customer's edit): its old words go, its ticket's
    subject words stay when it is the message that made the ticket."""
    db.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", (message_id,))  # noqa: S608  # our table
    row = db.execute(_FIRST_CONTACT_SUBJECT, (message_id,)).fetchone()
    subject = words(row[0]) if row is not None else ()
    _write(db, message_id, tuple(sorted({*words(body), *subject})))


_FIRST_CONTACT_SUBJECT = (
    "SELECT t.subject FROM messages m JOIN tickets t ON t.id = m.ticket_id "
    "WHERE m.id = ? AND m.direction = 'inbound' "
    "AND m.id = (SELECT min(f.id) FROM messages f WHERE f.ticket_id = m.ticket_id)"
)
"""The subject of the ticket the message made, when it made one (its first, inbound)."""


def match_clause(word: str) -> tuple[str, list[object]]:
    """A WHERE clause on tickets: `word` is in the subject or in one of the messages."""
    phrase = f'"{word}"'  # a word has no quote in it: letters and digits only
    return (
        f"id IN (SELECT m.ticket_id FROM {TABLE} JOIN messages m "  # noqa: S608  # our table
        f"ON m.id = {TABLE}.rowid WHERE {TABLE} MATCH ?)",
        [phrase],
    )


def forget(db: sqlite3.Connection, message_ids: str) -> int:
    """Drop the rows of the messages (a JSON list of ids); how many there were."""
    return db.execute(
        f"DELETE FROM {TABLE} WHERE rowid IN (SELECT value FROM json_each(?))",  # noqa: S608  # our table
        (message_ids,),
    ).rowcount


def optimize(db: sqlite3.Connection) -> None:
    """Merge the segments into one: deleted rows' words linger in the older ones until then."""
    db.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")  # noqa: S608  # our table


def _write(db: sqlite3.Connection, message_id: int, found: tuple[str, ...]) -> None:
    if found:
        db.execute(
            f"INSERT INTO {TABLE} (rowid, words) VALUES (?, ?)",  # noqa: S608  # our table
            (message_id, " ".join(found)),
        )


def backfill(db: sqlite3.Connection) -> None:
    """Migration 8: index every subject and message stored before the index existed, in the
    two tables of migration 7 (19 merges them)."""
    for table, sql in (
        ("subject_words", "SELECT id, subject FROM tickets WHERE id > ? ORDER BY id LIMIT ?"),
        ("message_words", "SELECT id, body FROM messages WHERE id > ? ORDER BY id LIMIT ?"),
    ):
        after = 0
        while rows := db.execute(sql, (after, _BACKFILL_BATCH)).fetchall():
            _insert(db, table, rows)
            after = rows[-1][0]


def _insert(db: sqlite3.Connection, table: str, texts: Iterable[tuple[int, str]]) -> None:
    rows = [(rowid, " ".join(found)) for rowid, text in texts if (found := words(text))]
    if rows:
        db.executemany(f"INSERT INTO {table} (rowid, words) VALUES (?, ?)", rows)  # noqa: S608  # table names are ours
