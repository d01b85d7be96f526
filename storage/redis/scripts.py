"""The Lua scripts of the Redis store, sent by SHA and pipelined across concurrent requests.

Each script is `lua/common.lua` (key names, the ticket indexes), `lua/tally.lua` (the
reports' rollups, kept by every event the record appends) and `lua/words.lua` (the words
index of searches) followed by its own file, read once from package data and loaded
at open (SCRIPT LOAD), then called by EVALSHA.

Calls are pipelined automatically: every call made while the event loop runs one round of
callbacks goes out in one write, on one connection, and their replies come back in one read
(the Redis analog of SQLite's group commit). Each call is still one script, atomic on its
own; what is shared is the network round trip and redis-py's per-command overhead, which
in one Python process cost more than the script itself. A call whose script the server
does not know (NOSCRIPT: a restarted or flushed server) did not run, so the scripts are
loaded again and those calls sent once more.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

NAMES = (
    "ingest", "update", "claim", "outbound", "delivery", "edit", "consent", "note", "list",
    "stats", "replay", "events", "campaign", "campaign_read", "reindex", "customer",
    "customer_read", "dialer", "people", "people_read", "offer", "deadlines", "rate", "rules",
    "retention", "rollup_claim", "rollup_fill", "unindex", "saved", "follow_up",
)  # fmt: skip

MAX_PIPELINE = 16
"""Calls in one write. Small enough that several writes are in flight at once, so Redis runs
one batch while this process prepares the next (one big batch made them take turns)."""

MAX_IN_FLIGHT = 60
"""Pipelines sent at once, each on its own connection; more wait for one to be answered
(the store passes its pool's size less a few, so a burst waits instead of failing)."""

READ_ONLY = frozenset(
    {"list", "stats", "replay", "events", "campaign_read", "customer_read", "people_read"}
)
SHARED = ("common", "tally", "words")


def source(name: str) -> str:
    """The script's text. The shebang makes Redis (7+) refuse a writing script *before* it
    runs when it could not complete (out of memory, a failing disk): Redis never undoes a
    script's writes, so a refusal at the start is what keeps a failed ingest from leaving
    half a ticket. Reading scripts say so, and still run under those conditions."""
    lua = files("storage.redis") / "lua"
    shared = [(lua / f"{part}.lua").read_text(encoding="utf-8") for part in SHARED]
    shebang = "#!lua flags=no-writes" if name in READ_ONLY else "#!lua"
    return "\n".join([shebang, *shared, (lua / f"{name}.lua").read_text(encoding="utf-8")])


@dataclass(slots=True)
class _Call:
    name: str
    args: tuple[str | bytes | int, ...]
    future: asyncio.Future[Any]


class Scripts:
    """The scripts bound to one client; every call declares the one key of the hash slot."""

    def __init__(
        self, client: Redis | RedisCluster, slot_key: str, pipelines: int = MAX_IN_FLIGHT
    ) -> None:
        self._client = client
        self._in_flight = asyncio.Semaphore(pipelines)
        self._slot_key = slot_key
        self._sources = {name: source(name) for name in NAMES}
        self._shas = {
            name: hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
            for name, text in self._sources.items()
        }
        self._pending: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()
        self.pipelines = 0
        """Writes sent so far (the benchmark divides calls by it)."""

    async def load(self) -> None:
        for name, text in self._sources.items():
            self._shas[name] = await self._client.script_load(text)

    async def run(self, name: str, *args: str | bytes | int) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(_Call(name, args, future))
        if len(self._pending) == 1:  # the first caller of this round sends for everyone
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    async def drain(self) -> None:
        """Wait for every call made so far to be answered (before closing the client)."""
        await asyncio.sleep(0)  # let a scheduled flush start its send
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_PIPELINE]
            self._pending = self._pending[MAX_PIPELINE:]
            task = asyncio.create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            replies = await self._pipeline(batch)
            unknown = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
            if unknown:  # those calls did not run: load the scripts and send them once more
                await self.load()
                again = await self._pipeline([batch[i] for i in unknown])
                for i, reply in zip(unknown, again, strict=True):
                    replies[i] = reply
        except Exception as exc:  # noqa: BLE001  # every waiting caller must hear of it
            replies = [exc] * len(batch)
        for call, reply in zip(batch, replies, strict=True):
            _settle(call, reply)

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        async with self._in_flight, self._client.pipeline(transaction=False) as pipe:
            self.pipelines += 1
            for call in batch:
                # by name: a cluster pipeline blocks its evalsha helper, not the command
                pipe.execute_command(
                    "EVALSHA", self._shas[call.name], 1, self._slot_key, *call.args
                )
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies


def _settle(call: _Call, outcome: object) -> None:
    if call.future.done():  # the caller went away; the write stands, dedupe holds
        return
    if isinstance(outcome, BaseException):
        call.future.set_exception(outcome)
    else:
        call.future.set_result(outcome)
