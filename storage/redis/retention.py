"""Retention and erasure on Redis: a mixin of `RedisStore` (core/retention.py).

Each purge batch and each erasure is one call of lua/retention.lua. What the script cannot
work out is read here first: the words of a ticket's texts (core.search tokenises in
Python), its past offers (named by its record) and, for an erasure, the dedupe entries and
thread keys of the customer's tickets (hashes keyed by what providers sent, so found by an
HSCAN of each: an erasure reads every entry once) and the rate-limit keys made of their
addresses (a SCAN). The script checks that the tickets' messages are as they were read (a
digest, as edits do), so a message that lands meanwhile is never left indexed.

A purge deletes the dedupe entries of its tickets' messages (a message keeps its key when
it is not `channel:external_id`; one an older hub stored without it may stay) but leaves
their thread keys: ingest.lua treats an entry that names a ticket no longer there as
unknown (a key of a closed ticket led nowhere already), and a later message with that key
replaces it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from core.errors import Conflict, StorageUnavailable
from core.model import Customer
from core.record import SYSTEM, Actor
from core.retention import Erasure, Purge
from core.search import words
from storage.redis.live import Live
from storage.redis.options import translated
from storage.redis.rows import ts

ERASE_ROUNDS = 5
"""Reads of a customer whose tickets keep changing before an erasure gives up."""
SCAN_COUNT = 1000
BACKFILL_BATCH = 1000


class RedisRetention:
    """purge_closed and erase_customer on Redis."""

    @property
    def _live(self) -> Live:
        raise NotImplementedError  # RedisStore's open connection

    def key(self, *parts: str | int) -> str:
        raise NotImplementedError

    async def get_customer(self, customer_id: int) -> Customer:
        raise NotImplementedError

    async def index_closed(self) -> None:
        """Closed tickets of older hubs join the sweeper's index (idempotent; at open)."""
        client = self._live.client
        if await client.zcard(self.key("ix", "closed")) >= await client.zcard(
            self.key("ix", "s", "closed")
        ):
            return
        after = "0"
        while after:
            after = await self._live.scripts.run("retention", "backfill", after, BACKFILL_BATCH)

    @translated
    async def purge_closed(self, before: datetime, now: datetime, limit: int = 100) -> Purge:
        found = await self._live.client.zrangebyscore(
            self.key("ix", "closed"), "-inf", f"({ts(before)}", start=0, num=limit
        )
        if not found:
            return Purge()
        tickets = [
            {**texts, "offers": offers}
            for texts, offers in zip(
                await self._texts(found), await self._offers(found), strict=True
            )
        ]
        ids, messages, attachments, freed = await self._live.scripts.run(
            "retention", "purge", ts(before), ts(now), json.dumps(tickets)
        )
        return Purge(tuple(int(i) for i in ids), int(messages), int(attachments), _sorted(freed))

    @translated
    async def erase_customer(self, customer_id: int, by: str, now: datetime) -> Erasure:
        customer = await self.get_customer(customer_id)
        if customer.merged_into is not None:
            raise Conflict(
                f"customer {customer_id} was merged into customer {customer.merged_into}"
            )
        people = await self._merged_into(customer_id)
        for _ in range(ERASE_ROUNDS):
            tickets = await self._tickets_of(people)
            payload = {
                "customer": customer_id,
                "people": people,
                "tickets": await self._texts(tickets),
                "dedupe": await self._fields("dedupe", {str(t) for t in tickets}, ":"),
                "thread": await self._fields("thread", {str(t) for t in tickets}),
                "rate": await self._rate_keys(people),
                "actor": str(Actor.agent(by) if by else SYSTEM),
                "now": ts(now),
            }
            reply = await self._live.scripts.run("retention", "erase", json.dumps(payload))
            if reply != "changed":
                return _erasure(customer_id, people, tickets, reply)
        raise StorageUnavailable(f"the tickets of customer {customer_id} kept changing")

    async def _merged_into(self, customer_id: int) -> list[int]:
        """The customer and those merged into it (live merges), directly or not."""
        people, pending = [customer_id], [customer_id]
        while pending:
            survivor = pending.pop()
            merges = await self._live.scripts.run("customer_read", "merges", survivor)
            for text in merges:
                merge = json.loads(text)
                folded = int(merge["other"])
                live = int(merge["survivor"]) == survivor and not merge.get("undone_at")
                if live and folded not in people:
                    people.append(folded)
                    pending.append(folded)
        return sorted(people)

    async def _tickets_of(self, people: Iterable[int]) -> list[int]:
        found: set[int] = set()
        for person in people:
            found.update(
                map(int, await self._live.client.zrange(self.key("ix", "c", person), 0, -1))
            )
        return sorted(found)

    async def _texts(self, tickets: Sequence[int | str]) -> list[dict[str, Any]]:
        """Each ticket's id, the digest of its messages as read, the words of its texts."""
        async with self._live.client.pipeline(transaction=True) as pipe:
            for ticket_id in tickets:
                pipe.get(self.key("t", ticket_id, "r"))
                pipe.lrange(self.key("t", ticket_id, "m"), 0, -1)
            read = await pipe.execute()
        return [
            _texts(int(ticket_id), route, messages)
            for ticket_id, route, messages in zip(tickets, read[::2], read[1::2], strict=True)
        ]

    async def _offers(self, tickets: Sequence[int | str]) -> list[list[int]]:
        """The offers each ticket's record names (their hashes go with it)."""
        async with self._live.client.pipeline(transaction=True) as pipe:
            for ticket_id in tickets:
                pipe.lrange(self.key("t", ticket_id, "ev"), 0, -1)
            records = await pipe.execute()
        return [sorted(set(_offer_ids(record))) for record in records]

    async def _fields(self, name: str, tickets: set[str], until: str = "") -> list[str]:
        """The fields of hash `name` whose value names one of the tickets."""
        if not tickets:
            return []
        found = []
        async for field, value in self._live.client.hscan_iter(self.key(name), count=SCAN_COUNT):
            owner = str(value).split(until)[0] if until else str(value)
            if owner in tickets:
                found.append(str(field))
        return found

    async def _rate_keys(self, people: Sequence[int]) -> list[str]:
        """Rate-limit keys made of one of the people's addresses or numbers."""
        values: set[str] = set()
        for person in people:
            customer = await self.get_customer(person)
            values.update(identity.value.casefold() for identity in customer.identities)
        if not values:
            return []
        pattern = self.key("rate", "*")
        return [
            str(key)
            async for key in self._live.client.scan_iter(match=pattern, count=SCAN_COUNT)
            if any(value in str(key).casefold() for value in values)
        ]


def _texts(ticket_id: int, route: str | None, messages: list[str]) -> dict[str, Any]:
    digest = hashlib.sha1("\n".join(messages).encode(), usedforsecurity=False).hexdigest()
    subject = "" if route is None else str(json.loads(route).get("subject", ""))
    data = [json.loads(m) for m in messages]
    found = set(words(subject)).union(*(words(m["body"]) for m in data))
    keys = [_contact_key(m) for m in data if m["direction"] == "inbound"]
    return {"id": ticket_id, "digest": digest, "words": sorted(found), "keys": keys}


def _contact_key(message: dict[str, Any]) -> str:
    """The dedupe key of an inbound message (core.model.Inbound.key)."""
    return str(message.get("key") or f"{message['channel']}:{message.get('external_id', '')}")


def _offer_ids(record: list[str]) -> Iterable[int]:
    for text in record:
        event = json.loads(text)
        detail = event.get("d", event.get("detail")) or {}
        if isinstance(detail, dict) and "offer_id" in detail:
            yield int(detail["offer_id"])


def _sorted(shas: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(shas)))


def _erasure(customer_id: int, people: list[int], tickets: list[int], reply: Any) -> Erasure:
    identities, messages, attachments, search, keys, events, freed, closed = reply
    return Erasure(
        customer_id, tuple(people), int(identities), tuple(tickets),
        tuple(int(t) for t in closed), int(messages), int(attachments), int(search), int(keys),
        int(events), _sorted(freed),
    )  # fmt: skip
