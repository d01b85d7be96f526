"""How the Redis store is reached: its URL's options, and redis-py's errors as the hub's.

`translated` is the one place where a driver error becomes one of ours: a server that cannot
be reached, times out, is loading, read-only, out of memory, busy or failing to persist is
`StorageUnavailable` (the faces answer 503 / SMTP 451, and the sender retries); any other is
`StorageError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import ConfigError, StorageError, StorageUnavailable

P = ParamSpec("P")
R = TypeVar("R")

LIST_SCAN_CAP = 5000
"""Tickets one listing call looks at before it answers (with a cursor to go on)."""

_TRANSIENT_ERRORS = (
    RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError, TryAgainError,
    ClusterDownError, MasterDownError, OSError,
)  # fmt: skip
_TRANSIENT_REPLIES = ("BUSY", "MISCONF", "NOREPLICAS")
"""A server loading, out of memory, read-only, busy, or failing to persist: retry later."""


@dataclass(frozen=True, slots=True)
class RedisOptions:
    server_url: str
    prefix: str = "ch"
    timeout: float = 5.0
    max_connections: int = 64
    cluster: bool = False

    @classmethod
    def from_url(cls, url: str) -> RedisOptions:
        parts = urlsplit(url)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(params) - {"prefix", "timeout", "max_connections"}
        if unknown:
            raise ConfigError(f"storage.url: unknown parameter(s) {sorted(unknown)}")
        prefix = params.get("prefix", "ch")
        if not prefix or any(c in prefix for c in "{}: "):
            raise ConfigError("storage.url: prefix must be a non-empty name without {}: or space")
        try:
            timeout = float(params.get("timeout", "5"))
            max_connections = int(params.get("max_connections", "64"))
        except ValueError as exc:
            raise ConfigError(f"storage.url: {exc}") from exc
        if timeout <= 0 or max_connections < 1:
            raise ConfigError("storage.url: timeout and max_connections must be positive")
        cluster = parts.scheme == "redis+cluster"
        if cluster and parts.path.strip("/") not in ("", "0"):
            raise ConfigError("storage.url: a Redis Cluster has only database 0")
        scheme = "redis" if cluster else parts.scheme
        server = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
        return cls(server, prefix, timeout, max_connections, cluster)


def translate(exc: RedisError | OSError) -> StorageError:
    """A driver error as one of ours: what a retry may cure is StorageUnavailable."""
    if isinstance(exc, _TRANSIENT_ERRORS) or str(exc).startswith(_TRANSIENT_REPLIES):
        return StorageUnavailable(f"redis unavailable: {type(exc).__name__}: {exc}")
    return StorageError(f"redis error: {exc}")


def translated(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """The one place where redis-py's errors become the hub's."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            if isinstance(exc, RedisConnectionError) and isinstance(args[0], DropsIdle):
                await args[0].drop_idle_connections()
            raise translate(exc) from exc

    return call


@runtime_checkable
class DropsIdle(Protocol):
    async def drop_idle_connections(self) -> None:
        """Close the pool's idle connections: a restarted server closed them all, and each
        would fail once more, one request at a time, if it stayed in the pool."""
