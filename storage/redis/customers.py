"""The customer part of the Store protocol on Redis: a mixin of `RedisStore`.

Every write is one call of `lua/customer.lua` (an edit, a merge or an unmerge, whole), every
read of several keys one call of `lua/customer_read.lua` (a snapshot). Key layout: the top of
customer.lua. Names are found in one sorted set of "<word>\\0<id>" members (all scored 0, so
ordered by text): a prefix is a ZRANGEBYLEX range, never a walk over the customers. The
words are worked out here (core.customers.name_words), where Unicode case folding is at
hand, and the scripts keep them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.customers import CustomerChange, CustomerMerge, CustomerQuery, name_words, tag_key
from core.errors import Conflict, InvalidRequest, NotFound
from core.model import Customer, Page, whole_id
from storage.redis.live import Scripted
from storage.redis.options import translated
from storage.redis.rows import customer_from_fields, opt_dt, pairs, ts
from storage.search import (
    NameCursor,
    NameHit,
    domain_cursor,
    domain_page,
    parse_cursor,
    search_page,
)
from storage.sqlite.rows import dt, identity_from_key

SCAN_CAP = 5000
"""Customers (or index entries) one listing call looks at before it answers with a cursor."""
INDEX_BATCH = 1000
"""Customers an older hub made, looked at by one script of the index's backfill."""


class RedisCustomers:
    """Customers: found, edited, merged and unmerged on Redis."""

    customer_scan_cap = SCAN_CAP
    index_batch = INDEX_BATCH

    @property
    def _live(self) -> Scripted:
        raise NotImplementedError  # RedisStore's open connection

    @translated
    async def _change(self, *args: str | int) -> Any:
        return _accepted(await self._live.scripts.run("customer", *args))

    @translated
    async def _snapshot(self, *args: str | int) -> Any:
        return await self._live.scripts.run("customer_read", *args)

    async def index_old_names(self) -> None:
        """Make the customers an older hub made findable by name: the Redis analog of the
        SQLite migration that indexed them. Once per database (one call at later opens)."""
        while True:
            found, last = await self._change("unindexed", self.index_batch)
            if not int(last):
                return
            items = [
                value
                for customer_id, name in found
                for value in (customer_id, name, json.dumps(name_words(name)))
            ]
            await self._change("index", last, *items)

    async def index_old_domains(self) -> None:
        """Make the addresses an older hub linked findable by domain (once per database:
        one call at later opens)."""
        while (await self._change("domains", self.index_batch))[0]:
            pass

    async def list_customers(
        self, query: CustomerQuery | None, limit: int = 50, cursor: str | None = None
    ) -> Page[Customer]:
        if query is None:
            return await self._newest(limit, cursor)
        if query.domain:
            at = await self._snapshot("domain", query.domain, domain_cursor(cursor), limit + 1)
            return domain_page([(key, _customer(i, flat)) for key, i, flat in at], limit)
        after = parse_cursor(cursor)
        start = after or NameCursor()
        shown, hits, word, resume_id = await self._snapshot(
            "search", json.dumps(query.identities), json.dumps(query.words),
            int(after is None), limit + 1, start.word, start.customer_id, self.customer_scan_cap,
        )  # fmt: skip
        room = max(0, limit - len(shown))
        found: list[NameHit] = [(w, _customer(i, flat)) for w, i, flat in hits]
        resume = NameCursor(word, int(resume_id)) if resume_id else None
        return search_page([_customer(*c) for c in shown], found[: room + 1], room, start, resume)

    async def _newest(self, limit: int, cursor: str | None) -> Page[Customer]:
        if cursor is not None and whole_id(cursor) is None:
            raise InvalidRequest(f"not a cursor: {cursor!r}")
        found, resume = await self._snapshot("newest", limit, cursor or "", self.customer_scan_cap)
        items = tuple(_customer(*c) for c in found[:limit])
        if len(found) > limit:
            return Page(items, str(items[-1].id))
        return Page(items, resume or None)

    async def update_customer(self, customer_id: int, change: CustomerChange) -> Customer:
        name = change.name
        words = json.dumps(name_words(name)) if name is not None else ""
        tags = "" if change.tags is None else json.dumps(change.tags)
        (flat,) = await self._change(
            "edit", customer_id, "keep" if name is None else "set", name or "", words, tags
        )
        return _customer(customer_id, flat)

    async def merge_customers(
        self, survivor_id: int, other_id: int, by: str, now: datetime
    ) -> CustomerMerge:
        tags = [tag for found in await self._snapshot("tags", survivor_id, other_id)
                for tag in json.loads(found)]  # fmt: skip
        folded = json.dumps({tag: tag_key(tag) for tag in tags})
        (record,) = await self._change("merge", survivor_id, other_id, by, ts(now), folded)
        return merge_from_json(record)

    async def unmerge_customers(
        self, customer_id: int, merge_id: int, by: str, now: datetime
    ) -> CustomerMerge:
        (record,) = await self._change("unmerge", customer_id, merge_id, by, ts(now))
        return merge_from_json(record)

    async def customer_merges(self, customer_id: int) -> list[CustomerMerge]:
        return [merge_from_json(text) for text in await self._snapshot("merges", customer_id)]


def _accepted(reply: Sequence[Any]) -> Sequence[Any]:
    """The script's answer after "ok", or its refusal raised as ours."""
    verdict, *rest = reply
    if verdict == "ok":
        return rest
    if verdict == "missing":
        kind, key = rest
        raise NotFound(kind, int(key))
    if verdict == "invalid":
        raise InvalidRequest(rest[0])
    raise Conflict(rest[0])


def _customer(customer_id: int, flat: Sequence[str]) -> Customer:
    return customer_from_fields(int(customer_id), pairs(flat))


def merge_from_json(text: str) -> CustomerMerge:
    """A merge record as customer.lua writes it (cjson writes an empty list as {})."""
    data = json.loads(text)
    return CustomerMerge(
        id=int(data["id"]),
        survivor=int(data["survivor"]),
        other=int(data["other"]),
        by=data["by"],
        at=dt(float(data["at"])),
        identities=tuple(identity_from_key(key) for key in data["identities"] or ()),
        tickets=tuple(int(t) for t in data["tickets"] or ()),
        tags=tuple(data["tags"] or ()),
        added_tags=tuple(data["added_tags"] or ()),
        undone_by=data.get("undone_by"),
        undone_at=opt_dt(data.get("undone_at")),
    )
