"""What the hub's log lines carry from their context: the request id, channel, ticket id.

One `ContextVar` holding a small mapping, bound with `bound(...)` for a block and merged
into every line by `merge_bound` (a structlog processor, hub/cli/logs.py). structlog's own
`bound_contextvars` copies and walks the whole `contextvars` context on each use (a
`copy_context()`, a `ContextVar` per key): three uses per webhook cost ~9 % of the hub's
Python time under load, where this costs a dict and a `set`/`reset`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType

from structlog.typing import EventDict, WrappedLogger

# never changed in place: a block binds a new mapping, and its end puts the old one back
_BOUND: ContextVar[Mapping[str, object]] = ContextVar("contacthub_log", default={})  # noqa: B039


class bound:  # noqa: N801  # used as a context manager, named as one
    """`with bound(channel="sms"):` the lines logged inside carry channel=sms; the values
    bound outside come back after the block."""

    __slots__ = ("_token", "_values")

    def __init__(self, **values: object) -> None:
        self._values = values
        self._token: Token[Mapping[str, object]] | None = None

    def __enter__(self) -> None:
        self._token = _BOUND.set({**_BOUND.get(), **self._values})

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _BOUND.reset(self._token)


def merge_bound(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """A structlog processor: the bound values, under what the line itself says."""
    for key, value in _BOUND.get().items():
        event.setdefault(key, value)
    return event
