"""Helpers the tests share: building contacts, signing forms, free ports."""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.base import hmac_sha256_hex
from core.deadlines import SlaMarks
from core.model import CustomerFacts, Decision, Identity, Inbound
from core.record import TicketEvent

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
FORM_SECRET = "test-form-secret-0123456789"


def inbound(
    external_id: str,
    sender: str = "email:ada@example.com",
    *,
    channel: str = "form",
    at: datetime = T0,
    text: str = "hello",
    **fields: Any,
) -> Inbound:
    kind, _, value = sender.partition(":")
    return Inbound(
        channel=channel,
        external_id=external_id,
        sender=Identity(kind, value),
        text=text,
        received_at=at,
        **fields,
    )


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class FunctionRouter:
    """A router made of one decide function."""

    def __init__(
        self,
        decide: Callable[[Inbound, CustomerFacts], Decision],
        *,
        needs_history: bool = True,
        sla_after: Callable[[Sequence[TicketEvent], datetime], SlaMarks | None] | None = None,
    ) -> None:
        self._decide = decide
        self._sla_after = sla_after
        self.needs_history = needs_history

    def decide(self, contact: Inbound, facts: CustomerFacts) -> Decision:
        return self._decide(contact, facts)

    def sla_after(self, events: Sequence[TicketEvent], now: datetime) -> SlaMarks | None:
        return None if self._sla_after is None else self._sla_after(events, now)


class RecordingRouter:
    """A router that sends everything to one queue and remembers what it was asked."""

    needs_history = True

    def __init__(self, queue: str = "general") -> None:
        self.queue = queue
        self.calls: list[tuple[Inbound, CustomerFacts]] = []

    def decide(self, contact: Inbound, facts: CustomerFacts) -> Decision:
        self.calls.append((contact, facts))
        return Decision(self.queue, rule="test", explanation=(f"routed {contact.external_id}",))

    def sla_after(self, _events: Sequence[TicketEvent], _now: datetime) -> SlaMarks | None:
        return None


def form_body(external_id: str, **fields: str) -> bytes:
    payload = {"external_id": external_id, "email": "ada@example.com", "message": "hi", **fields}
    return json.dumps(payload).encode()


def form_headers(body: bytes, secret: str = FORM_SECRET) -> dict[str, str]:
    return {
        "X-Contacthub-Signature": "sha256=" + hmac_sha256_hex(secret.encode(), body),
        "Content-Type": "application/json",
    }


FREE_PORTS = (10_000, 20_000)
"""Where tests' servers listen: below the kernel's ephemeral ports (32768-60999 on Linux).
A port the kernel handed out (`bind` to 0) could be handed again, to another test process
or as the local end of any outgoing connection, before the server meant for it listened:
a test then talked to another test's hub (seen once in a full run)."""
SHARES = 9  # the serial phase and up to 8 pytest-xdist workers


def worker_ports(low: int, high: int) -> range:
    """This test process's own share of [low, high): two pytest-xdist workers (gw0, gw1, ...)
    never hand out the same port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker[2:].isdigit() else 0
    share = (high - low) // SHARES
    start = low + (index % SHARES) * share
    return range(start, start + share)


_handed = itertools.count(random.randrange(1_000))


def free_port() -> int:
    """A port of this process's share that nothing listens on, none handed out before it in
    this process (the share is walked round, skipping what is in use)."""
    ports = worker_ports(*FREE_PORTS)
    for _ in range(len(ports)):
        port = ports[next(_handed) % len(ports)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {ports}")
