"""Versioned schema of the SQLite store. Append migrations; never edit a released one.

`PRAGMA user_version` holds the number of migrations applied; each runs in its own
immediate transaction, so a hub that dies mid-upgrade restarts from a consistent version.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from core.customers import name_words
from storage.sqlite import customers, deadlines, retention, saved_replies, search, tally

Migration = str | Callable[[sqlite3.Connection], None]
"""SQL statements, or a function of the connection for what SQL alone cannot do."""

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the ingest spine and the API's tables
    """
    CREATE TABLE customers (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL DEFAULT '',
        tags        TEXT NOT NULL DEFAULT '[]',
        created_at  REAL NOT NULL
    );
    CREATE TABLE identities (
        key         TEXT PRIMARY KEY,          -- "kind:value", e.g. "phone:+15551234567"
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        created_at  REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX identities_customer ON identities(customer_id);
    CREATE TABLE tickets (
        id                 INTEGER PRIMARY KEY,
        status             TEXT NOT NULL,
        channel            TEXT NOT NULL,
        queue              TEXT NOT NULL,
        priority           TEXT NOT NULL,
        priority_rank      INTEGER NOT NULL,
        customer_id        INTEGER NOT NULL REFERENCES customers(id),
        subject            TEXT NOT NULL DEFAULT '',
        tags               TEXT NOT NULL DEFAULT '[]',
        skills             TEXT NOT NULL DEFAULT '[]',
        assignee           TEXT,
        route_rule         TEXT,
        route_explanation  TEXT NOT NULL DEFAULT '[]',
        route_version      INTEGER,
        route_facts        TEXT NOT NULL DEFAULT '{}',   -- what the router knew of the customer
        created_at         REAL NOT NULL,
        updated_at         REAL NOT NULL,
        first_response_due REAL,
        resolution_due     REAL,
        first_responded_at REAL,
        resolved_at        REAL
    );
    CREATE INDEX tickets_customer_channel ON tickets(customer_id, channel, updated_at);
    CREATE INDEX tickets_waiting ON tickets(queue, status, priority_rank DESC, created_at)
        WHERE assignee IS NULL;
    CREATE INDEX tickets_queue ON tickets(queue, id);
    CREATE TABLE messages (
        id          INTEGER PRIMARY KEY,
        ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
        dedupe_key  TEXT UNIQUE,               -- NULL for outbound messages
        direction   TEXT NOT NULL,
        channel     TEXT NOT NULL,
        event       TEXT NOT NULL,
        external_id TEXT NOT NULL DEFAULT '',
        sender      TEXT NOT NULL DEFAULT '',
        recipient   TEXT NOT NULL DEFAULT '',
        subject     TEXT NOT NULL DEFAULT '',
        body        TEXT NOT NULL,
        attachments TEXT NOT NULL DEFAULT '[]',
        meta        TEXT NOT NULL DEFAULT '{}',
        author      TEXT NOT NULL DEFAULT '',
        delivery    TEXT NOT NULL DEFAULT '',
        error       TEXT NOT NULL DEFAULT '',
        at          REAL NOT NULL
    );
    CREATE INDEX messages_ticket ON messages(ticket_id, id);
    CREATE TABLE thread_keys (
        key         TEXT PRIMARY KEY,
        ticket_id   INTEGER NOT NULL REFERENCES tickets(id)
    ) WITHOUT ROWID;
    CREATE TABLE rules_versions (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,
        author      TEXT NOT NULL,
        created_at  REAL NOT NULL
    );
    CREATE TABLE tokens (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL,
        digest      TEXT NOT NULL UNIQUE,
        created_at  REAL NOT NULL,
        revoked_at  REAL
    );
    """,
    # 2: outbound deliveries found by the provider's id; customers' SMS consent
    """
    CREATE INDEX messages_provider ON messages(channel, external_id)
        WHERE direction = 'outbound';
    CREATE TABLE sms_consent (
        identity_key TEXT PRIMARY KEY,         -- "phone:+15551234567"
        opted_out    INTEGER NOT NULL,
        at           REAL NOT NULL             -- when the customer said so
    ) WITHOUT ROWID;
    """,
    # 3: where long-lived pollers stopped (an IMAP mailbox's UIDVALIDITY and last UID)
    """
    CREATE TABLE checkpoints (
        name        TEXT PRIMARY KEY,
        value       TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 4: customers' edits and deletions of their messages (Slack), recorded on the message
    """
    ALTER TABLE messages ADD COLUMN edited_at REAL;
    ALTER TABLE messages ADD COLUMN deleted_at REAL;
    """,
    # 5: outbound campaigns: their contacts (found by slot and due time), attempts, and the
    # do-not-call list (core/campaigns.py; storage/sqlite/campaigns.py)
    """
    CREATE TABLE campaigns (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        queue       TEXT NOT NULL,
        caller_id   TEXT NOT NULL DEFAULT '',
        policy      TEXT NOT NULL,             -- CampaignPolicy.to_json()
        state       TEXT NOT NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE campaign_contacts (
        id           INTEGER PRIMARY KEY,
        campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
        phone        TEXT NOT NULL,            -- E.164
        slot         TEXT NOT NULL,            -- time zones | preferred hours (router)
        state        TEXT NOT NULL,
        priority     INTEGER NOT NULL,
        rank         INTEGER NOT NULL,         -- priority, or the appointment rank
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_at      REAL NOT NULL,            -- due from
        name         TEXT NOT NULL DEFAULT '',
        email        TEXT NOT NULL DEFAULT '',
        external_ref TEXT NOT NULL DEFAULT '',
        notes        TEXT NOT NULL DEFAULT '',
        preferred    TEXT NOT NULL DEFAULT '',
        source       TEXT NOT NULL DEFAULT '',
        line         INTEGER NOT NULL DEFAULT 0,
        last_outcome TEXT,
        attempt_id   INTEGER,                  -- the open attempt while leased
        lease_until  REAL,
        created_at   REAL NOT NULL,
        updated_at   REAL NOT NULL,
        UNIQUE (campaign_id, phone)
    );
    CREATE INDEX campaign_contacts_due ON campaign_contacts(campaign_id, rank, slot, next_at)
        WHERE state = 'queued';
    CREATE INDEX campaign_contacts_leased ON campaign_contacts(campaign_id, lease_until)
        WHERE state = 'leased';
    CREATE TABLE campaign_slots (
        campaign_id INTEGER NOT NULL,
        slot        TEXT NOT NULL,
        PRIMARY KEY (campaign_id, slot)
    ) WITHOUT ROWID;
    CREATE TABLE campaign_attempts (
        id          INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
        contact_id  INTEGER NOT NULL REFERENCES campaign_contacts(id),
        agent       TEXT NOT NULL,
        started_at  REAL NOT NULL,
        lease_until REAL NOT NULL,
        ended_at    REAL,
        outcome     TEXT,
        callback_at REAL,
        note        TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX campaign_attempts_contact ON campaign_attempts(contact_id, id);
    CREATE INDEX campaign_attempts_campaign ON campaign_attempts(campaign_id, outcome);
    CREATE TABLE do_not_call (
        phone       TEXT PRIMARY KEY,          -- E.164
        source      TEXT NOT NULL,
        added_at    REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 6: queue depths as counters, backfilled from the tickets, then kept by triggers: a
    # trigger runs in the transaction of the change that fires it, so every write path
    # (ingest, updates, claims, replies, and any added later) moves the counters atomically.
    # The oldest waiting ticket of a queue is the first entry of an index, not a counter.
    """
    CREATE TABLE queue_depths (
        queue       TEXT PRIMARY KEY,
        waiting     INTEGER NOT NULL DEFAULT 0,    -- new and unassigned
        open        INTEGER NOT NULL DEFAULT 0     -- new, open or pending
    ) WITHOUT ROWID;
    INSERT INTO queue_depths (queue, waiting, open)
        SELECT queue, sum(status = 'new' AND assignee IS NULL), count(*) FROM tickets
        WHERE status IN ('new', 'open', 'pending') GROUP BY queue;
    CREATE INDEX tickets_oldest_waiting ON tickets(queue, created_at)
        WHERE status = 'new' AND assignee IS NULL;
    CREATE TRIGGER tickets_depth_insert AFTER INSERT ON tickets
        WHEN NEW.status IN ('new', 'open', 'pending')
    BEGIN
        INSERT INTO queue_depths (queue, waiting, open)
            VALUES (NEW.queue, NEW.status = 'new' AND NEW.assignee IS NULL, 1)
            ON CONFLICT (queue) DO UPDATE
            SET waiting = waiting + excluded.waiting, open = open + 1;
    END;
    CREATE TRIGGER tickets_depth_update AFTER UPDATE OF status, queue, assignee ON tickets
        WHEN OLD.status IS NOT NEW.status OR OLD.queue IS NOT NEW.queue
            OR (OLD.assignee IS NULL) IS NOT (NEW.assignee IS NULL)
    BEGIN
        UPDATE queue_depths
            SET waiting = waiting - (OLD.status = 'new' AND OLD.assignee IS NULL), open = open - 1
            WHERE queue = OLD.queue AND OLD.status IN ('new', 'open', 'pending');
        INSERT INTO queue_depths (queue, waiting, open)
            SELECT NEW.queue, NEW.status = 'new' AND NEW.assignee IS NULL, 1
            WHERE NEW.status IN ('new', 'open', 'pending')
            ON CONFLICT (queue) DO UPDATE
            SET waiting = waiting + excluded.waiting, open = open + 1;
    END;
    CREATE TRIGGER tickets_depth_delete AFTER DELETE ON tickets
        WHEN OLD.status IN ('new', 'open', 'pending')
    BEGIN
        UPDATE queue_depths
            SET waiting = waiting - (OLD.status = 'new' AND OLD.assignee IS NULL), open = open - 1
            WHERE queue = OLD.queue;
    END;
    """,
    # 7: finding work: listings by assignee, channel and status, and searches of subjects and
    # messages (storage/sqlite/search.py: the words of core.search, split again by `ascii`)
    """
    CREATE INDEX tickets_assignee ON tickets(assignee, id);
    CREATE INDEX tickets_channel ON tickets(channel, id);
    CREATE INDEX tickets_status ON tickets(status, id);
    CREATE VIRTUAL TABLE subject_words USING fts5(words, tokenize = 'ascii');
    CREATE VIRTUAL TABLE message_words USING fts5(words, tokenize = 'ascii');
    """,
    # 8: the words of the subjects and messages stored before 7
    search.backfill,
    # 9: customers found by the words of their name (core.customers.name_words, backfilled
    # through the function `migrate` lends the connection), merged and unmerged with a record
    # of exactly what moved (storage/sqlite/customers.py and merges.py)
    """
    CREATE TABLE customer_words (
        word        TEXT NOT NULL,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        PRIMARY KEY (word, customer_id)
    ) WITHOUT ROWID;
    CREATE INDEX customer_words_customer ON customer_words(customer_id, word);
    INSERT OR IGNORE INTO customer_words (word, customer_id)
        SELECT w.value, c.id FROM customers c, json_each(contacthub_name_words(c.name)) w;
    ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers(id);
    CREATE TABLE customer_merges (
        id          INTEGER PRIMARY KEY,
        survivor    INTEGER NOT NULL REFERENCES customers(id),
        other       INTEGER NOT NULL REFERENCES customers(id),
        merged_by   TEXT NOT NULL,
        merged_at   REAL NOT NULL,
        identities  TEXT NOT NULL,             -- JSON: the identity keys that moved
        tickets     TEXT NOT NULL,             -- JSON: the ticket ids that moved
        tags        TEXT NOT NULL,             -- JSON: the other's tags
        added_tags  TEXT NOT NULL,             -- JSON: those the survivor lacked
        undone_by   TEXT,
        undone_at   REAL
    );
    CREATE INDEX customer_merges_survivor ON customer_merges(survivor, id);
    CREATE INDEX customer_merges_other ON customer_merges(other, id);
    """,
    # 10: the tickets' record (core/record.py), one global sequence (AUTOINCREMENT: a seq is
    # never reused, and one rolled back with its transaction is given again, so committed
    # seqs have no gap), a `created` event for every ticket already here; live work that
    # nobody holds waits (core/workflow.py `waits`: new, open or pending, and unassigned),
    # so the waiting counts, the claim index and the oldest-waiting index follow it.
    """
    CREATE TABLE ticket_events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
        kind        TEXT NOT NULL,
        actor       TEXT NOT NULL,             -- "kind:name", e.g. "agent:alice"
        at          REAL NOT NULL,
        detail      TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, seq);
    INSERT INTO ticket_events (ticket_id, kind, actor, at, detail)
        SELECT id, 'created', coalesce('rule:' || route_rule, 'system'), created_at,
               json_object('queue', queue, 'priority', priority, 'rule', route_rule)
        FROM tickets ORDER BY id;
    CREATE INDEX tokens_name ON tokens(name) WHERE revoked_at IS NULL;
    DROP TRIGGER tickets_depth_insert;
    DROP TRIGGER tickets_depth_update;
    DROP TRIGGER tickets_depth_delete;
    DROP INDEX tickets_oldest_waiting;
    DROP INDEX tickets_waiting;
    UPDATE queue_depths SET waiting = (SELECT count(*) FROM tickets t
        WHERE t.queue = queue_depths.queue AND t.status IN ('new', 'open', 'pending')
        AND t.assignee IS NULL);
    CREATE INDEX tickets_waiting ON tickets(queue, priority_rank DESC, created_at, id)
        WHERE status IN ('new', 'open', 'pending') AND assignee IS NULL;
    CREATE INDEX tickets_oldest_waiting ON tickets(queue, created_at)
        WHERE status IN ('new', 'open', 'pending') AND assignee IS NULL;
    CREATE TRIGGER tickets_depth_insert AFTER INSERT ON tickets
        WHEN NEW.status IN ('new', 'open', 'pending')
    BEGIN
        INSERT INTO queue_depths (queue, waiting, open)
            VALUES (NEW.queue, NEW.assignee IS NULL, 1)
            ON CONFLICT (queue) DO UPDATE
            SET waiting = waiting + excluded.waiting, open = open + 1;
    END;
    CREATE TRIGGER tickets_depth_update AFTER UPDATE OF status, queue, assignee ON tickets
        WHEN OLD.status IS NOT NEW.status OR OLD.queue IS NOT NEW.queue
            OR (OLD.assignee IS NULL) IS NOT (NEW.assignee IS NULL)
    BEGIN
        UPDATE queue_depths
            SET waiting = waiting - (OLD.assignee IS NULL), open = open - 1
            WHERE queue = OLD.queue AND OLD.status IN ('new', 'open', 'pending');
        INSERT INTO queue_depths (queue, waiting, open)
            SELECT NEW.queue, NEW.assignee IS NULL, 1
            WHERE NEW.status IN ('new', 'open', 'pending')
            ON CONFLICT (queue) DO UPDATE
            SET waiting = waiting + excluded.waiting, open = open + 1;
    END;
    CREATE TRIGGER tickets_depth_delete AFTER DELETE ON tickets
        WHEN OLD.status IN ('new', 'open', 'pending')
    BEGIN
        UPDATE queue_depths
            SET waiting = waiting - (OLD.assignee IS NULL), open = open - 1
            WHERE queue = OLD.queue;
    END;
    """,
    # 11: the dialer: an attempt's Twilio call (its sid, who answered, what the call itself
    # ended as, before an agent's conversational outcome), outbound agents' ready flags, and
    # numbers taken off the do-not-call list, with who and why.
    """
    ALTER TABLE campaign_attempts ADD COLUMN call_sid TEXT;
    ALTER TABLE campaign_attempts ADD COLUMN answered_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE campaign_attempts ADD COLUMN call_outcome TEXT;
    CREATE TABLE dialer_agents (
        name        TEXT PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
        endpoint    TEXT NOT NULL,             -- E.164, or client:IDENTITY
        ready       INTEGER NOT NULL DEFAULT 0,
        busy_until  REAL,                      -- on a dial until then (NULL: free)
        updated_at  REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX dialer_agents_ready ON dialer_agents(campaign_id) WHERE ready = 1;
    CREATE TABLE do_not_call_removals (
        id          INTEGER PRIMARY KEY,
        phone       TEXT NOT NULL,
        source      TEXT NOT NULL,
        added_at    REAL NOT NULL,
        removed_by  TEXT NOT NULL,
        reason      TEXT NOT NULL,
        removed_at  REAL NOT NULL
    );
    CREATE INDEX do_not_call_removals_phone ON do_not_call_removals(phone, id);
    """,
    # 12: agents (every name that held a token becomes one, with its tokens' roles), tokens
    # that grant every role of their agent (role NULL), and offers. An agent's load is what
    # they hold, read through tickets_held, plus their open offers; a ticket has at most one
    # open offer, and a change that makes it stop waiting withdraws it (the trigger).
    """
    CREATE TABLE agents (
        name             TEXT PRIMARY KEY,
        roles            TEXT NOT NULL DEFAULT '[]',
        skills           TEXT NOT NULL DEFAULT '[]',
        capacity         TEXT NOT NULL DEFAULT '{}',   -- channel -> most tickets held
        queues           TEXT NOT NULL DEFAULT '[]',   -- [] serves every queue
        presence         TEXT NOT NULL DEFAULT 'offline',
        seen_at          REAL,
        online_since     REAL,
        last_offered_at  REAL,
        last_assigned_at REAL,
        created_at       REAL NOT NULL,
        updated_at       REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX agents_seen ON agents(seen_at) WHERE presence <> 'offline';
    INSERT INTO agents (name, roles, created_at, updated_at)
        SELECT name, json_group_array(DISTINCT role), min(created_at), max(created_at)
        FROM tokens GROUP BY name;
    CREATE TABLE tokens_new (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL REFERENCES agents(name),
        role        TEXT,
        digest      TEXT NOT NULL UNIQUE,
        created_at  REAL NOT NULL,
        revoked_at  REAL
    );
    INSERT INTO tokens_new SELECT id, name, role, digest, created_at, revoked_at FROM tokens;
    DROP TABLE tokens;
    ALTER TABLE tokens_new RENAME TO tokens;
    CREATE INDEX tokens_name ON tokens(name) WHERE revoked_at IS NULL;
    CREATE INDEX tickets_held ON tickets(assignee, channel)
        WHERE assignee IS NOT NULL AND status IN ('new', 'open', 'pending');
    CREATE TABLE offers (
        id          INTEGER PRIMARY KEY,
        ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
        agent       TEXT NOT NULL,
        queue       TEXT NOT NULL,
        channel     TEXT NOT NULL,
        state       TEXT NOT NULL,
        created_at  REAL NOT NULL,
        deadline    REAL NOT NULL,
        answered_at REAL,
        explanation TEXT NOT NULL DEFAULT '[]'
    );
    CREATE UNIQUE INDEX offers_open_ticket ON offers(ticket_id) WHERE state = 'open';
    CREATE INDEX offers_open_agent ON offers(agent, channel) WHERE state = 'open';
    CREATE INDEX offers_open_deadline ON offers(deadline) WHERE state = 'open';
    CREATE INDEX offers_declined ON offers(ticket_id, agent)
        WHERE state IN ('rejected', 'expired');
    CREATE TRIGGER tickets_offer_withdrawn AFTER UPDATE OF status, queue, assignee ON tickets
        WHEN NEW.assignee IS NOT NULL OR NEW.status NOT IN ('new', 'open', 'pending')
            OR NEW.queue IS NOT OLD.queue
    BEGIN
        UPDATE offers SET state = 'withdrawn', answered_at = NEW.updated_at
            WHERE ticket_id = NEW.id AND state = 'open';
    END;
    """,
    # 13: SLA deadlines, claimed by the SLA watcher (storage/sqlite/deadlines.py).
    deadlines.MIGRATION,
    # 14: a cheaper ingest. Any INSERT on a table with a trigger runs under a statement
    # journal, and opening one makes FTS5 write its pending words out as a segment of their
    # own: the depth trigger on tickets cost every new ticket a flush of the contact before
    # it. The ingest (the only writer of new tickets) counts them itself now
    # (storage/sqlite/ingest.py), so the words are flushed once per group commit. And a
    # three-value IN list builds a lookup table each time it is evaluated, for every row
    # written to a partial index: the live statuses are an OR of equalities here (queries that
    # want these indexes repeat it: storage/sqlite/rows.py WAITING).
    """
    DROP TRIGGER tickets_depth_insert;
    DROP TRIGGER tickets_depth_update;
    DROP TRIGGER tickets_depth_delete;
    DROP INDEX tickets_waiting;
    DROP INDEX tickets_oldest_waiting;
    CREATE INDEX tickets_waiting ON tickets(queue, priority_rank DESC, created_at, id)
        WHERE (status = 'new' OR status = 'open' OR status = 'pending') AND assignee IS NULL;
    CREATE INDEX tickets_oldest_waiting ON tickets(queue, created_at)
        WHERE (status = 'new' OR status = 'open' OR status = 'pending') AND assignee IS NULL;
    CREATE TRIGGER tickets_depth_update AFTER UPDATE OF status, queue, assignee ON tickets
        WHEN OLD.status IS NOT NEW.status OR OLD.queue IS NOT NEW.queue
            OR (OLD.assignee IS NULL) IS NOT (NEW.assignee IS NULL)
    BEGIN
        UPDATE queue_depths
            SET waiting = waiting - (OLD.assignee IS NULL), open = open - 1
            WHERE queue = OLD.queue
            AND (OLD.status = 'new' OR OLD.status = 'open' OR OLD.status = 'pending');
        INSERT INTO queue_depths (queue, waiting, open)
            SELECT NEW.queue, NEW.assignee IS NULL, 1
            WHERE NEW.status = 'new' OR NEW.status = 'open' OR NEW.status = 'pending'
            ON CONFLICT (queue) DO UPDATE
            SET waiting = waiting + excluded.waiting, open = open + 1;
    END;
    CREATE TRIGGER tickets_depth_delete AFTER DELETE ON tickets
        WHEN OLD.status = 'new' OR OLD.status = 'open' OR OLD.status = 'pending'
    BEGIN
        UPDATE queue_depths
            SET waiting = waiting - (OLD.assignee IS NULL), open = open - 1
            WHERE queue = OLD.queue;
    END;
    """,
    # 15: each ticket's SLA marks and standing, its listing index and the at-risk counts
    # (storage/sqlite/deadlines.py).
    deadlines.MARKS_MIGRATION,
    # 16: retention and erasure (storage/sqlite/retention.py): closed tickets by last activity,
    # thread keys and attachments by ticket, and the record freed of its foreign key to the
    # tickets, so a purged ticket's record stays (reports and the live stream read it)
    retention.migration,
    # 17: the reports' rollups (storage/sqlite/tally.py): each ticket's tally and the hourly,
    # daily and monthly cells (filled by 21)
    tally.migration,
    # 18: the calendar the cells keep their days and months by (core/periods.py): UTC until
    # `contacthub reports zone` changes it
    """
    CREATE TABLE report_calendar (zone TEXT NOT NULL);  -- one row
    INSERT INTO report_calendar VALUES ('UTC');
    """,
    # 19: the words of subjects and messages in one table, one row per new contact
    # (storage/sqlite/search.py)
    search.MERGE_MIGRATION,
    # 20: automatic messages (acknowledgements) are not searched: their template matched
    # every ticket they went to (storage/sqlite/search.py)
    search.UNINDEX_AUTOMATIC_MIGRATION,
    # 21: the reports' rollups folded from the record as it stands (again, from 17 to 20: a
    # tally now keeps which SLA clocks were breached, for the summary's SLA met per clock;
    # storage/sqlite/tally.py)
    tally.refill,
    # 22: email addresses by domain, for a search of "@acme.com" (storage/sqlite/customers.py)
    customers.DOMAIN_INDEX,
    # 23: saved replies (storage/sqlite/saved_replies.py)
    saved_replies.MIGRATION,
)


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations this file has and the database lacks; return the version.

    The version is read inside each immediate transaction, so two hubs starting on one
    file at once never apply a migration twice. Migrations may call the Python function
    `contacthub_name_words(name)` (the words as a JSON list), lent to the connection here.
    """
    db.create_function("contacthub_name_words", 1, _name_words_json, deterministic=True)
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version >= len(MIGRATIONS):
                db.execute("COMMIT")
                return version
            _apply(db, MIGRATIONS[version])
            db.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _apply(db: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(db)
        return
    for statement in statements(migration):
        db.execute(statement)


def _name_words_json(name: str) -> str:
    return json.dumps(name_words(name))


def statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    return [s for s in found if s]
