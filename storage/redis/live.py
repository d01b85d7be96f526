"""What the store's mixins see of its open connection (`RedisStore._live`): the scripts,
and for the mixins that also send plain commands, the client."""

from __future__ import annotations

from typing import Any, Protocol


class Scripts(Protocol):
    async def run(self, name: str, *args: str | bytes | int) -> Any: ...


class Scripted(Protocol):
    @property
    def scripts(self) -> Scripts: ...


class Live(Scripted, Protocol):
    @property
    def client(self) -> Any: ...  # Redis or RedisCluster: the mixins use what both have
