"""The web chat's per-hub limits: messages per visitor per minute, sockets per address."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

_SWEEP_AT = 10_000  # visitors remembered before the forgotten ones are swept


class MessageRate:
    """At most `per_minute` messages of one visitor in any 60 seconds (a sliding window)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, visitor: str) -> bool:
        now = self._clock()
        if len(self._sent) > _SWEEP_AT:
            for gone in [v for v, times in self._sent.items() if times[-1] <= now - 60]:
                del self._sent[gone]
        sent = self._sent[visitor]
        while sent and sent[0] <= now - 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return False
        sent.append(now)
        return True


class SocketCount:
    """Open sockets per remote address, at most `per_ip`."""

    def __init__(self, per_ip: int) -> None:
        self.per_ip = per_ip
        self._open: dict[str, int] = defaultdict(int)

    def take(self, address: str) -> bool:
        if self._open[address] >= self.per_ip:
            return False
        self._open[address] += 1
        return True

    def give_back(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
