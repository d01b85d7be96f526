"""The scale-out store: every hub instance of a deployment shares one Redis.

Every write that touches more than one key is one Lua script, so two hubs can never
interleave inside an ingest, a claim or an update; the ingest is explained in
storage/redis/ingest.py. Reads of several keys go in one MULTI/EXEC, a consistent snapshot.

Keys (`{ch}` is the hash tag, the `prefix` parameter; every key carries it, so the same
scripts run on Redis Cluster, where they all land in one hash slot):

    {ch}:ids                    hash: last id of ticket, customer, message, token, merge,
                                offer, and the record's sequence (`event`)
    {ch}:dedupe                 hash: contact key -> "ticket:message:position in its list"
    {ch}:ident                  hash: identity key -> customer id
    {ch}:thread                 hash: thread key -> ticket id
    {ch}:c:<id>                 hash: customer (name, tags, created, open tickets,
                                "id:<identity>" -> when it was linked, the words of its
                                name, and "merged_into" while merged away)
    {ch}:c:<id>:live:<channel>  zset: the customer's tickets not closed, by last activity
    {ch}:c:<id>:merges          zset: the merges the customer took part in, by id
    {ch}:merge:<id>             string: a merge and exactly what it moved (JSON)
    {ch}:names                  zset: "<word>\0<id>" for the words of live customers' names,
                                all scored 0 (ordered by text: a prefix is a ZRANGEBYLEX)
    {ch}:dom:<domain>           zset: the email identities at the domain, scored 0 (by
                                text); their owners are {ch}:ident's (common.lua)
    {ch}:t:<id>                 hash: ticket (status, queue, priority, assignee, times ...,
                                and `offer`: its open offer's id, while it has one)
    {ch}:t:<id>:r               string: its subject and route (JSON, written once)
    {ch}:t:<id>:m               list: messages (JSON), oldest first
    {ch}:t:<id>:ev              list: its record, events (JSON, core/record.py), oldest first
    {ch}:events                 stream: every ticket's events in order, ID "<seq>-1", each
                                pointing into its ticket's record (t: ticket, i: position)
    {ch}:ix:q:<q>|s:<s>|c:<id>  zsets: ticket ids by queue, status, customer, channel,
    {ch}:ix:ch:<c>|a:<name>|na  assignee, and the unassigned (listings); unfiltered
                                listings walk the ids (dense, never deleted)
    {ch}:ix:w:<word>            zset: ids of the tickets with the word (searches)
    {ch}:t:<id>:w, :mw          hashes: a ticket's words, counted, as hubs before kept
                                them; read by nothing now (lua/words.lua)
    {ch}:search                 hash: how far tickets of older versions were indexed
                                (storage/redis/search.py)
    {ch}:w:<queue>:<rank>       zset: waiting tickets of a queue and priority (new, open or
                                pending, and unassigned), by age (its size is the count of
                                those waiting; queue_stats reads it)
    {ch}:open                   hash: queue -> tickets new, open or pending (a counter
                                kept by the script of every change, common.lua's reindex)
    {ch}:out                    hash: outbound message id -> "ticket:position in its list"
    {ch}:provider               hash: "channel:provider id" -> outbound message id
    {ch}:sms_consent            hash: phone identity -> "1|0 time" (opted out, said at)
    {ch}:rate:<key>             sorted set: the times counted against a limit (rate.lua)
    {ch}:checkpoints            hash: poller name -> where it stopped
    {ch}:t:<id>:declined        set: agents who rejected the ticket or let an offer expire
    {ch}:tokens                 hash: token digest -> token (JSON: id, name, role or null
                                for every role of its agent, created_at, revoked_at)
    {ch}:agents                 set: every agent's name (storage/redis/people.py)
    {ch}:ag:<name>              hash: agent (roles, skills, queues, capacity as JSON;
                                presence; created, seen, since, offered, assigned times)
    {ch}:ag:<name>:offers       zset: the agent's open offers, by id
    {ch}:load:<name>            hash: channel -> tickets held (new, open or pending, and
                                assigned) plus open offers; kept for every assignee by the
                                script of every change that moves it (common.lua)
    {ch}:seen                   zset: agents not offline, by their last heartbeat
    {ch}:of:<id>                hash: offer (ticket, agent, queue, channel, state, times)
    {ch}:of:<id>:why            string: the offer's explanation (JSON list)
    {ch}:offers                 zset: open offers, by id
    {ch}:deadlines              zset: open offers, by deadline (expiry claims them here)
    {ch}:rules                  list: rules versions (JSON); the version is the position
    {ch}:sla, :sla:d            zset and hash: SLA deadlines by claimable time, their instance
    {ch}:t:<id>:sla             set: the ticket's deadlines (storage/redis/lua/deadlines.lua)
    {ch}:ix:closed              zset: closed tickets by last activity (the retention sweeper)
    {ch}:blobs                  hash: attachment sha256 -> messages referring to it
                                (storage/redis/lua/retention.lua)
    {ch}:rp, :rh, :rhz, :rr:<c> the reports' rollups: each ticket's tally, the running
    {ch}:r<kind>:<level>:<t>    holds, resolved tickets by customer, and the cells
                                (storage/redis/lua/tally.lua)
    {ch}:saved, :saved:names    hashes: saved reply id -> JSON, name key -> id
                                (storage/redis/lua/saved.lua)

URL: ``redis://[:password@]host:port/db``, or ``redis+cluster://host:port`` for a Redis
Cluster (any node; the client follows the slot's primary), with optional query parameters
``prefix`` (the hash tag, default ``ch``), ``timeout`` (seconds a command may take,
default 5) and ``max_connections`` (per server, default 64; on one server a command that
finds them all busy waits up to ``timeout`` for one, and the scripts' pipelines leave a few to
the direct commands, so a burst of requests queues instead of being refused).

Errors: every redis-py error is translated in one place, `storage.redis.options.translated`: a
server that cannot be reached, times out, is loading, read-only or out of memory is
`StorageUnavailable` (the faces answer 503 / SMTP 451); nothing is retried here, since a
retried claim or reply could be applied twice; providers retry, and a retried contact is
deduplicated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.deadlines import SlaMarks
from core.errors import NotFound, ReplyOnFinal, RulesChanged, StorageUnavailable
from core.model import (
    FINAL_DELIVERY,
    Customer,
    Delivery,
    Direction,
    Inbound,
    IngestResult,
    Message,
    Page,
    Place,
    QueueStats,
    Replay,
    Router,
    RulesVersion,
    ThreadPolicy,
    Ticket,
    TicketFilter,
    Via,
    cursor_id,
)
from core.periods import Calendar
from core.record import SYSTEM, Actor
from core.workflow import FINAL_STATUSES
from storage.redis.campaigns import RedisCampaigns
from storage.redis.customers import RedisCustomers
from storage.redis.deadlines import RedisDeadlines
from storage.redis.dialer import RedisDialer
from storage.redis.events import RedisEvents
from storage.redis.ingest import RedisIngest
from storage.redis.options import RedisOptions, translated
from storage.redis.people import RedisPeople
from storage.redis.retention import RedisRetention
from storage.redis.rollups import RedisRollups
from storage.redis.rows import (
    customer_from_fields,
    inbound_from_json,
    message_from_json,
    outbound_json,
    pairs,
    rules_from_json,
    rules_json,
    sla_json,
    ticket_from_fields,
    ts,
)
from storage.redis.saved_replies import RedisSavedReplies
from storage.redis.scripts import Scripts
from storage.redis.search import (
    edit_words,
    filter_json,
    index_old_tickets,
    unindex_old_acknowledgements,
    words_json,
)
from storage.redis.tickets import RedisTickets
from storage.sqlite.rows import dt

LIST_SCAN_CAP = 5000
"""Tickets one listing call looks at before it answers (with a cursor to go on)."""
RESERVED_CONNECTIONS = 4
"""Connections of the pool that the scripts' pipelines leave to direct commands."""
EDIT_ROUNDS = 5
"""Reads of a ticket whose messages keep changing before an edit gives up (a script that
answered "changed" wrote nothing, so sending it again is safe)."""
_FINAL = json.dumps(FINAL_STATUSES)
"""The statuses that refuse an agent's reply (outbound.lua)."""


class _Open:
    """What an open store holds: the client, its scripts, the ingest."""

    def __init__(self, options: RedisOptions) -> None:
        self.client = _client(options)
        # The scripts leave a few connections to the direct reads (the event feed's blocking
        # XREAD among them), so a burst of calls never takes the last one.
        pipelines = max(1, options.max_connections - RESERVED_CONNECTIONS)
        self.scripts = Scripts(self.client, f"{{{options.prefix}}}:ids", pipelines)
        self.ingest = RedisIngest(self.scripts)


def _client(options: RedisOptions) -> Redis | RedisCluster:
    """The client. On one server, a request that finds every connection busy waits up to the
    timeout for one (a burst of hundreds of requests queues, then is answered) instead of
    failing with "too many connections"; a cluster's nodes keep their own pools."""
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": options.timeout,
        "socket_connect_timeout": options.timeout,
        "max_connections": options.max_connections,
        "retry": Retry(NoBackoff(), 0),
    }
    if options.cluster:
        return RedisCluster.from_url(options.server_url, **common)
    pool = BlockingConnectionPool.from_url(options.server_url, timeout=options.timeout, **common)
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool


class RedisStore(
    RedisCampaigns,
    RedisCustomers,
    RedisDeadlines,
    RedisDialer,
    RedisEvents,
    RedisPeople,
    RedisRetention,
    RedisTickets,
    RedisRollups,
    RedisSavedReplies,
):
    """The Store protocol on a shared Redis (campaigns: storage/redis/campaigns.py; customers:
    storage/redis/customers.py; the dialer: storage/redis/dialer.py; agents, tokens and
    offers: storage/redis/people.py; changes of tickets and the record:
    storage/redis/tickets.py; following the record: storage/redis/events.py; SLA deadlines:
    storage/redis/deadlines.py; retention and erasure: storage/redis/retention.py; the
    reports' rollups: storage/redis/rollups.py; saved replies:
    storage/redis/saved_replies.py)."""

    def __init__(self, url: str) -> None:
        self.options = RedisOptions.from_url(url)
        self._tag = f"{{{self.options.prefix}}}"
        self._open: _Open | None = None
        self.list_scan_cap = LIST_SCAN_CAP

    def key(self, *parts: str | int) -> str:
        return ":".join([self._tag, *map(str, parts)])

    @property
    def _live(self) -> _Open:
        if self._open is None:
            raise StorageUnavailable("storage is closed")
        return self._open

    @property
    def pipelines_sent(self) -> int:
        """Network writes of script calls so far (several calls share one when concurrent)."""
        return 0 if self._open is None else self._open.scripts.pipelines

    @translated
    async def open(self) -> None:
        opened = _Open(self.options)
        try:
            await opened.scripts.load()
            await index_old_tickets(opened.client, opened.scripts, self.key)
            await unindex_old_acknowledgements(opened.client, opened.scripts, self.key)
        except BaseException:
            await opened.client.aclose()
            raise
        self._open = opened
        try:
            opened.ingest.calendar = await self.report_calendar()
            await self.index_old_names()
            await self.index_old_domains()
            await self.upgrade_people()
            await self.index_closed()
            await self.backfill_rollups()
        except BaseException:
            await self.close()
            raise

    @translated
    async def set_report_calendar(self, calendar: Calendar) -> None:
        await self.refill_by(calendar)
        self._live.ingest.calendar = calendar

    async def close(self) -> None:
        if self._open is not None:
            opened, self._open = self._open, None
            await opened.scripts.drain()
            await opened.client.aclose()

    @translated
    async def ping(self) -> None:
        await self._live.client.ping()

    async def drop_idle_connections(self) -> None:
        client = None if self._open is None else self._open.client
        if isinstance(client, Redis):  # a cluster client reconnects its nodes on its own
            await client.connection_pool.disconnect(inuse_connections=False)

    @translated
    async def commit_inbound(
        self, inbound: Inbound, router: Router, policy: ThreadPolicy
    ) -> IngestResult:
        return await self._live.ingest.commit(inbound, router, policy)

    @translated
    async def get_ticket(self, ticket_id: int) -> Ticket:
        async with self._live.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self.key("t", ticket_id))
            pipe.get(self.key("t", ticket_id, "r"))
            pipe.lrange(self.key("t", ticket_id, "m"), 0, -1)
            pipe.get(self.key("t", ticket_id, "clk"))
            fields, route, messages, marks = await pipe.execute()
        if not fields:
            raise NotFound("ticket", ticket_id)
        return ticket_from_fields(ticket_id, fields, route, messages, marks)

    @translated
    async def ticket_places(self, ticket_ids: Sequence[int]) -> dict[int, Place]:
        ids = list(dict.fromkeys(ticket_ids))
        if not ids:
            return {}
        async with self._live.client.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hmget(self.key("t", ticket_id), "queue", "assignee")
            rows = await pipe.execute()
        return {
            ticket_id: (queue, assignee)
            for ticket_id, (queue, assignee) in zip(ids, rows, strict=True)
            if queue is not None
        }

    @translated
    async def list_tickets(
        self, where: TicketFilter, limit: int = 50, cursor: str | None = None
    ) -> Page[Ticket]:
        after = "" if cursor is None else str(cursor_id(cursor))
        items, resume = await self._live.scripts.run(
            "list", filter_json(where), limit, after, self.list_scan_cap
        )
        tickets = tuple(
            ticket_from_fields(int(i), pairs(flat), route, (), marks)
            for i, flat, route, marks in items[:limit]
        )
        if len(items) > limit:
            return Page(tickets, str(tickets[-1].id))
        return Page(tickets, resume or None)

    @translated
    async def append_outbound(
        self,
        ticket_id: int,
        body: str,
        author: str,
        now: datetime,
        via: Via | None = None,
        sla: SlaMarks | None = None,
    ) -> Message:
        via = via or Via()
        message = outbound_json(body, author, now, via)
        flag = "1" if via.automatic else ""
        actor = SYSTEM if via.automatic or not author else Actor.agent(author)
        reply = await self._live.scripts.run(
            "outbound", ticket_id, ts(now), message, via.channel, flag,
            "[]" if via.automatic else words_json(body),  # a template is no search's answer
            str(actor), "" if via.automatic else sla_json(sla), _FINAL,
        )  # fmt: skip
        if reply is None:
            raise NotFound("ticket", ticket_id)
        if reply[0] == "final":
            raise ReplyOnFinal(ticket_id, reply[1])
        message_id, channel = reply
        meta = {"automatic": via.automatic} if via.automatic else {}
        return Message(
            int(message_id), ticket_id, Direction.OUTBOUND, channel, body, now,
            author=author, delivery=via.delivery, meta=meta,
        )  # fmt: skip

    @translated
    async def record_delivery(self, message_id: int, delivery: Delivery) -> Message:
        reply = await self._live.scripts.run(
            "delivery", "record", _now(), message_id, delivery.status, delivery.provider_id,
            delivery.error,
        )  # fmt: skip
        if reply is None:
            raise NotFound("outbound message", message_id)
        return message_from_json(int(reply[0]), reply[1])

    @translated
    async def update_delivery(
        self, channel: str, provider_id: str, delivery: Delivery
    ) -> Message | None:
        reply = await self._live.scripts.run(
            "delivery", "update", _now(), channel, provider_id, delivery.status, delivery.error,
            *sorted(FINAL_DELIVERY),
        )  # fmt: skip
        return None if reply is None else message_from_json(int(reply[0]), reply[1])

    @translated
    async def edit_message(self, key: str, body: str | None, at: datetime) -> Message | None:
        live = self._live
        for _ in range(EDIT_ROUNDS):
            if body is None:
                reply = await live.scripts.run("edit", key, "delete", "", ts(at))
            else:
                change = await edit_words(live.client, self.key, key, body)
                reply = await live.scripts.run("edit", key, "edit", body, ts(at), *change)
            if reply != "changed":
                return None if reply is None else message_from_json(int(reply[0]), reply[1])
        raise StorageUnavailable(f"the ticket of {key!r} kept changing while being edited")

    @translated
    async def set_sms_opt_out(self, identity_key: str, opted_out: bool, at: datetime) -> None:
        await self._live.scripts.run("consent", identity_key, int(opted_out), ts(at))

    @translated
    async def sms_opted_out(self, identity_key: str) -> bool:
        consent = await self._live.client.hget(self.key("sms_consent"), identity_key)
        return consent is not None and str(consent).startswith("1")

    @translated
    async def get_checkpoint(self, name: str) -> str | None:
        value = await self._live.client.hget(self.key("checkpoints"), name)
        return None if value is None else str(value)

    @translated
    async def set_checkpoint(self, name: str, value: str) -> None:
        await self._live.client.hset(self.key("checkpoints"), name, value)

    @translated
    async def take_rate_slot(self, key: str, limit: int, window: timedelta, now: datetime) -> bool:
        seconds = window.total_seconds()
        taken = await self._live.scripts.run("rate", key, limit, repr(seconds), ts(now))
        return bool(taken)

    @translated
    async def queue_stats(self) -> list[QueueStats]:
        rows = await self._live.scripts.run("stats")
        return sorted(map(_depth, rows), key=lambda s: s.name)

    @translated
    async def queue_depth(self, queue: str) -> QueueStats:
        (row,) = await self._live.scripts.run("stats", queue)
        return _depth(row)

    @translated
    async def waiting_tickets(self, queue: str, limit: int) -> list[Ticket]:
        items = await self._live.scripts.run("people_read", "pressing", queue, limit)
        return [
            ticket_from_fields(int(i), pairs(flat), route, (), marks)
            for i, flat, route, marks in items
        ]

    @translated
    async def get_customer(self, customer_id: int) -> Customer:
        found = await self._live.client.hgetall(self.key("c", customer_id))
        fields = cast("dict[str, str]", found)  # the client decodes responses
        if not fields:
            raise NotFound("customer", customer_id)
        return customer_from_fields(customer_id, fields)

    @translated
    async def save_rules(
        self, source: str, author: str, now: datetime, expected: int | None = None
    ) -> RulesVersion:
        text = rules_json(source, author, now)
        saved, version = await self._live.scripts.run(
            "rules", text, -1 if expected is None else expected
        )
        if not saved:
            raise RulesChanged(int(expected or 0), int(version))
        return RulesVersion(int(version), source, author, now)

    @translated
    async def current_rules(self) -> RulesVersion | None:
        async with self._live.client.pipeline(transaction=True) as pipe:
            pipe.llen(self.key("rules"))
            pipe.lindex(self.key("rules"), -1)
            version, newest = await pipe.execute()
        return None if newest is None else rules_from_json(int(version), newest)

    @translated
    async def rules_history(self, limit: int = 50) -> list[RulesVersion]:
        async with self._live.client.pipeline(transaction=True) as pipe:
            pipe.llen(self.key("rules"))
            pipe.lrange(self.key("rules"), -limit, -1)
            newest, versions = await pipe.execute()
        first = int(newest) - len(versions) + 1
        history = [rules_from_json(first + i, text) for i, text in enumerate(versions)]
        return history[::-1]

    @translated
    async def replay(self, limit: int = 500, cursor: str | None = None) -> Page[Replay]:
        after = 0 if cursor is None else cursor_id(cursor)
        items, next_id = await self._live.scripts.run("replay", limit, after)
        replays = []
        for ticket_id, flat, route, first in items:
            if not flat:  # purged (core/retention.py)
                continue
            ticket = ticket_from_fields(int(ticket_id), pairs(flat), route)
            if first is not None:
                replays.append(
                    Replay(ticket.id, ticket.queue, ticket.route, inbound_from_json(first))
                )
        return Page(tuple(replays), next_id or None)


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))


def _depth(row: Sequence[Any]) -> QueueStats:
    name, waiting, total, oldest, at_risk = row
    oldest_at = dt(float(oldest)) if oldest else None
    return QueueStats(name, int(waiting), int(total), oldest_at, int(at_risk))


def _now() -> str:
    """When the record takes a provider's report of a delivery (reports carry no time)."""
    return ts(datetime.now(UTC))
