"""An open-loop load generator: requests at a fixed rate, latency from their scheduled time.

wrk2 (wrk at a fixed rate) is not packaged here and wrk is closed-loop: a slow answer delays
the next request, which hides queueing (coordinated omission). This generator schedules
request i at t0 + i/rate whatever came back, sends it on a free keep-alive connection,
and measures each latency from the scheduled instant, so waiting for a connection counts.
It speaks just enough HTTP/1.1 (Content-Length answers) to stay out of the way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class PacedResult:
    rate: float
    achieved: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int


def build_request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(connection: Connection, request: bytes) -> int:
    reader, writer = connection
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run_paced(
    port: int, requests: list[bytes], rate: float, seconds: float, connections: int = 128
) -> PacedResult:
    """Request i is due at t0 + i/rate; each of `connections` workers takes the next due
    request in turn, so when every worker is busy the wait counts in the latency."""
    total = min(len(requests), int(rate * seconds))
    latencies: list[float] = []
    statuses: list[int] = []
    turn = iter(range(total))
    start = time.perf_counter() + 0.05  # every connection open before the first is due

    async def worker() -> None:
        connection = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in turn:
                due = start + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                statuses.append(await _exchange(connection, requests[index]))
                latencies.append(time.perf_counter() - due)
        finally:
            connection[1].close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return _result(rate, total / elapsed, latencies, statuses)


def _result(
    rate: float, achieved: float, latencies: list[float], statuses: list[int]
) -> PacedResult:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    non_2xx = sum(not 200 <= s < 300 for s in statuses)
    return PacedResult(rate, achieved, at(0.50), at(0.99), at(1.0), non_2xx)
