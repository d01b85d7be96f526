"""The words index of ticket texts on SQLite, for listings with a search (`TicketFilter.text`).

Two FTS5 tables hold the words of core.search (never the raw text, so both stores tokenise
alike): `subject_words` one row per ticket (rowid: the ticket id), `message_words` one row
per message (rowid: the message id). Their `ascii` tokenizer only splits the stored words
at the spaces between them. The rows are written by the same writer job, in the same
transaction, as the subject or message they index, so a search never sees one without the
other; a text without words has no row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from core.model import Inbound, Outcome
from core.search import words

_BACKFILL_BATCH = 1000


def index_contact(
    db: sqlite3.Connection, outcome: Outcome, ticket_id: int, message_id: int, inbound: Inbound
) -> None:
    """Index an ingested contact: its message, and the subject of the ticket it created."""
    if outcome is Outcome.CREATED:
        _insert(db, "subject_words", [(ticket_id, inbound.subject)])
    _insert(db, "message_words", [(message_id, inbound.text)])


def index_message(db: sqlite3.Connection, message_id: int, body: str) -> None:
    _insert(db, "message_words", [(message_id, body)])


def reindex_message(db: sqlite3.Connection, message_id: int, body: str) -> None:
    """A message whose body changed (a customer's edit): its old words go."""
    db.execute("DELETE FROM message_words WHERE rowid = ?", (message_id,))
    index_message(db, message_id, body)


def match_clause(word: str) -> tuple[str, list[object]]:
    """A WHERE clause on tickets: `word` is in the subject or in one of the messages."""
    phrase = f'"{word}"'  # a word has no quote in it: letters and digits only
    return (
        "id IN (SELECT rowid FROM subject_words WHERE subject_words MATCH ? "
        "UNION SELECT m.ticket_id FROM message_words JOIN messages m "
        "ON m.id = message_words.rowid WHERE message_words MATCH ?)",
        [phrase, phrase],
    )


def backfill(db: sqlite3.Connection) -> None:
    """Index every subject and message stored before the index existed (a migration)."""
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
