"""The year of tickets the reports bench writes (bench/reports_bench.py through the Store,
bench/record_writer.py straight into its tables or keys): every ticket's steps, in time
order, and who each customer is."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

YEAR = timedelta(days=365)
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - YEAR
"""The year ends now: the rollups answer reports of the record as it stands."""
CHANNELS = (("email", "email"), ("sms", "phone"), ("form", "email"), ("slack", "slack"))
QUEUES = ("general", "billing", "support", "sales")
AGENTS = tuple(f"agent{n}" for n in range(50))
Step = tuple[datetime, int, str, str]  # when, ticket number, what, who


FIRST_RESPONSE, RESOLUTION = timedelta(hours=4), timedelta(hours=24)
"""The SLA targets of every route: a ticket answered or resolved later has a breach on its
record when the target passed (as the watcher writes it)."""


def plan(count: int, seed: int = 7) -> list[Step]:
    """Every ticket's steps, in time order (an SLA breach's "who" is its clock)."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for n in range(count):
        at = created = START + YEAR * (n / count)
        agent = rng.choice(AGENTS)
        steps.append((at, n, "create", ""))
        answered = resolved = False
        if rng.random() < 0.9:
            at += timedelta(minutes=rng.expovariate(1 / 40))
            steps.append((at, n, "claim", agent))
            for _ in range(1 if rng.random() < 0.6 else 2):
                at += timedelta(minutes=rng.expovariate(1 / 90))
                steps.append((at, n, "reply", agent))
                answered = answered or at - created <= FIRST_RESPONSE
            if rng.random() < 0.85:
                at += timedelta(minutes=rng.expovariate(1 / 600))
                steps.append((at, n, "resolve", agent))
                resolved = at - created <= RESOLUTION
                if rng.random() < 0.08:
                    at += timedelta(hours=rng.uniform(1, 20))
                    steps.append((at, n, "reopen", ""))
                    at += timedelta(minutes=rng.expovariate(1 / 120))
                    steps.append((at, n, "resolve", agent))
        for clock, target, met in (
            ("first_response", FIRST_RESPONSE, answered), ("resolution", RESOLUTION, resolved),
        ):  # fmt: skip
            if not met and created + target < START + YEAR:
                steps.append((created + target, n, "breach", clock))
    steps.sort()
    return steps


def source_of(n: int) -> int:
    """The ticket whose customer writes ticket n: one ticket in 20 is a customer of the last
    30 tickets (hours ago) coming back."""
    return n - 1 - (n * 7919) % 30 if n % 20 == 0 and n > 30 else n


def customer_of(n: int) -> int:
    return source_of(n) % 40_000


def breach_detail(n: int, clock: str, due: datetime) -> dict[str, str]:
    """An SLA breach's detail as the watcher records it (router/sla/deadlines.py)."""
    return {"metric": clock, "key": f"{n}", "due": due.isoformat(), "queue": QUEUES[n % 4]}
