"""The Lua scripts of the Redis store: read once from package data, run by SHA.

Each script is `lua/common.lua` (key names, the ticket indexes) followed by its own file.
`load` sends every script at open, so the first contact pays no extra round trip; redis-py's
script object then calls EVALSHA and, on NOSCRIPT (a restarted or flushed server), loads
the script again and retries once by itself.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

NAMES = (
    "ingest", "update", "claim", "outbound", "delivery", "consent", "list", "stats", "replay",
    "token",
)  # fmt: skip


def source(name: str) -> str:
    lua = files("storage") / "lua"
    common = (lua / "common.lua").read_text(encoding="utf-8")
    return common + "\n" + (lua / f"{name}.lua").read_text(encoding="utf-8")


class Scripts:
    """The scripts bound to one client; every call declares the one key of the hash slot."""

    def __init__(self, client: Redis, slot_key: str) -> None:
        self._client = client
        self._slot_key = slot_key
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(source(name)) for name in NAMES
        }

    async def load(self) -> None:
        for script in self._scripts.values():
            script.sha = await self._client.script_load(script.script)

    async def run(self, name: str, *args: str | int) -> Any:
        return await self._scripts[name](keys=[self._slot_key], args=args)
