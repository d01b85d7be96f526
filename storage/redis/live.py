"""What the store's mixins see of its open connection (`RedisStore._live`): the scripts,
for the mixins that also send plain commands the client, and for those that make tickets
the report calendar as the hub knows it."""

from __future__ import annotations

from typing import Any, Protocol

from core.periods import Calendar


class Scripts(Protocol):
    async def run(self, name: str, *args: str | bytes | int) -> Any: ...


class Scripted(Protocol):
    @property
    def scripts(self) -> Scripts: ...


class Live(Scripted, Protocol):
    @property
    def client(self) -> Any: ...  # Redis or RedisCluster: the mixins use what both have


class Calendared(Protocol):
    calendar: Calendar
    """The store's report calendar as this hub last read it (a script says when it is not)."""


class Making(Scripted, Protocol):
    @property
    def ingest(self) -> Calendared: ...
