"""Finding tickets on Redis: the listing's filter, the words its scripts index, and the
one-time indexing of tickets stored before the words, assignee and channel indexes existed.

The indexes themselves are kept by the scripts that change what they index, in the same
atomic step (lua/words.lua for the words, lua/common.lua's `memberships` for the sets).
Tickets that an older hub stored are indexed when a hub of this version first opens the
database: every ticket up to the highest id at that moment, in batches, each ticket by one
idempotent script (lua/reindex.lua) that refuses when the ticket changed since it was read,
so a concurrent message is never dropped from the index. Progress is kept in `{ch}:search`
(`upto`, `done`): a hub stopped half way carries on where it was. Writes of hubs of the older
version still running meanwhile are not indexed: upgrade every hub, and the index follows.
A second sweep of the same kind (`acks_upto`, `acks_done`; lua/unindex.lua) takes out the
words older hubs indexed for automatic messages, which are not searched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster

from core.errors import StorageUnavailable
from core.model import TicketFilter
from core.search import words
from storage.redis.scripts import Scripts

BATCH = 200
"""Tickets read (one transaction) and indexed (one pipelined round of scripts) at a time."""

MAX_ROUNDS = 5
"""Reads of one ticket that keeps changing before the indexing gives up (and open fails)."""

Key = Callable[..., str]


def filter_json(where: TicketFilter) -> str:
    """The listing script's filter (lua/list.lua): only the criteria given."""
    criteria = {
        "queue": where.queue,
        "status": where.status,
        "customer": None if where.customer_id is None else str(where.customer_id),
        "channel": where.channel,
        "assignee": where.assignee,
        "sla": where.sla,
    }
    found = {name: str(value) for name, value in criteria.items() if value is not None}
    chosen = {} if where.ids is None else {"ids": sorted(set(where.ids), reverse=True)}
    return json.dumps({**found, "words": where.words, **chosen})


def words_json(text: str) -> str:
    return json.dumps(words(text))


async def index_old_tickets(client: Redis | RedisCluster, scripts: Scripts, key: Key) -> None:
    """Index the tickets stored before this version (once per database; resumable)."""
    await _sweep(client, key, "", lambda ids: _index(client, scripts, key, ids))


async def unindex_old_acknowledgements(
    client: Redis | RedisCluster, scripts: Scripts, key: Key
) -> None:
    """Take out the words older hubs indexed for automatic messages (once; resumable):
    those none of the ticket's other texts has (lua/unindex.lua)."""
    await _sweep(client, key, "acks_", lambda ids: _unindex_automatic(client, scripts, key, ids))


async def _sweep(
    client: Redis | RedisCluster,
    key: Key,
    prefix: str,
    one_batch: Callable[[Sequence[int]], Awaitable[list[int]]],
) -> None:
    """Every ticket up to the highest id when the sweep first began, a batch at a time, its
    progress kept in `{ch}:search` (`<prefix>upto`, `<prefix>done`); `one_batch` returns
    the ids that changed while it read them, which are read again."""
    upto_field, done_field = f"{prefix}upto", f"{prefix}done"
    highest = await client.hget(key("ids"), "ticket")
    async with client.pipeline(transaction=True) as pipe:
        pipe.hsetnx(key("search"), upto_field, highest or 0)
        pipe.hmget(key("search"), upto_field, done_field)
        _, (upto, done) = await pipe.execute()
    first = int(done or 0) + 1
    for start in range(first, int(upto) + 1, BATCH):
        batch = range(start, min(start + BATCH, int(upto) + 1))
        pending = list(batch)
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            pending = await one_batch(pending)
        if pending:
            raise StorageUnavailable(f"tickets {pending} kept changing while being indexed")
        await client.hset(key("search"), done_field, batch[-1])


async def _read_texts(
    client: Redis | RedisCluster, key: Key, ids: Sequence[int]
) -> list[tuple[str | None, list[str]]]:
    """Each ticket's route (its subject) and messages, as one transaction read them."""
    async with client.pipeline(transaction=True) as pipe:
        for ticket_id in ids:
            pipe.get(key("t", ticket_id, "r"))
            pipe.lrange(key("t", ticket_id, "m"), 0, -1)
        read = await pipe.execute()
    return list(zip(read[::2], read[1::2], strict=True))


async def _unindex_automatic(
    client: Redis | RedisCluster, scripts: Scripts, key: Key, ids: Sequence[int]
) -> list[int]:
    """Unindex these tickets' automatic messages; the ids of those that changed meanwhile."""
    calls: dict[int, Awaitable[str]] = {}
    for ticket_id, (route, messages) in zip(ids, await _read_texts(client, key, ids), strict=True):
        digest, stale = _automatic_only_words(route, messages)
        if stale:
            calls[ticket_id] = scripts.run("unindex", ticket_id, digest, json.dumps(stale))
    replies = await asyncio.gather(*calls.values())  # together: one pipelined round
    return [
        ticket_id for ticket_id, reply in zip(calls, replies, strict=True) if reply == "changed"
    ]


def _automatic_only_words(route: str | None, messages: list[str]) -> tuple[str, list[str]]:
    """The digest of the messages as read and the words of the ticket's automatic messages
    that none of its other texts has (nothing to work out for a ticket without one)."""
    automatic = [words(m["body"]) for m in map(json.loads, messages) if _automatic(m)]
    if not automatic:
        return "", []
    digest, subject, searched = _texts_words(route, messages)
    return digest, sorted(set().union(*automatic) - set(subject).union(*searched))


async def _index(
    client: Redis | RedisCluster, scripts: Scripts, key: Key, ids: Sequence[int]
) -> list[int]:
    """Index these tickets; the ids of those that changed meanwhile."""
    read = await _read_texts(client, key, ids)
    calls = [
        scripts.run("reindex", ticket_id, *_reindex_args(route, messages))
        for ticket_id, (route, messages) in zip(ids, read, strict=True)
    ]
    replies = await asyncio.gather(*calls)  # together: one pipelined round of scripts
    return [ticket_id for ticket_id, reply in zip(ids, replies, strict=True) if reply == "changed"]


async def edit_words(
    client: Redis | RedisCluster, key: Key, contact_key: str, body: str
) -> tuple[str, str, str]:
    """What an edit of the message `contact_key` to `body` does to its ticket's words, for
    lua/edit.lua: the digest of the messages read, the words no text has after it, those it
    brings (a ticket's words are those of its subject and messages)."""
    seen = await client.hget(key("dedupe"), contact_key)
    if seen is None:
        return "", "[]", "[]"  # the script finds no message either
    ticket_id, _, position = str(seen).split(":")
    ((route, messages),) = await _read_texts(client, key, [int(ticket_id)])
    digest, subject, texts = _texts_words(route, messages)
    others = set(subject).union(*(found for i, found in enumerate(texts) if i != int(position)))
    before, after = others.union(texts[int(position)]), others.union(words(body))
    return digest, json.dumps(sorted(before - after)), json.dumps(sorted(after - before))


def _texts_words(
    route: str | None, messages: list[str]
) -> tuple[str, tuple[str, ...], list[tuple[str, ...]]]:
    """The digest of a ticket's messages as read, its subject's words, each message's."""
    digest = hashlib.sha1("\n".join(messages).encode(), usedforsecurity=False).hexdigest()
    subject = "" if route is None else str(json.loads(route).get("subject", ""))
    return digest, words(subject), [_searched(json.loads(text)) for text in messages]


def _searched(message: dict[str, Any]) -> tuple[str, ...]:
    """A message's words as the index holds them: an automatic one's (an acknowledgement's
    template) are not, or every ticket it went to would match them (store.append_outbound)."""
    return () if _automatic(message) else words(message["body"])


def _automatic(message: dict[str, Any]) -> bool:
    return message["direction"] == "outbound" and bool(message.get("meta", {}).get("automatic"))


def _reindex_args(route: str | None, messages: list[str]) -> tuple[str, str, str]:
    digest, subject, texts = _texts_words(route, messages)
    return digest, json.dumps(subject), json.dumps(texts)
