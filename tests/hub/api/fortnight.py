"""A scripted fortnight of tickets written straight into a store, with every report figure
computed by hand (FIGURES, BEHIND): the golden case of the reports' tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.model import Delivery, Status, ThreadPolicy, TicketChange
from core.record import Actor
from storage.base import Store
from tests.support import RecordingRouter, inbound

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=14)
END = START + timedelta(days=15)
"""A fortnight that ends in the future: deliveries are stamped with the wall clock (a
provider's report carries no time), so they fall inside it as they would in a live hub."""
T = START + timedelta(hours=9)
NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(days=1))
ANN, BOB = Actor.agent("ann"), Actor.agent("bob")


def h(hours: float) -> datetime:
    return T + timedelta(hours=hours)


async def contact(store: Store, key: str, sender: str, channel: str, queue: str, at: datetime,
                  *, policy: ThreadPolicy = NO_WINDOW) -> int:  # fmt: skip
    result = await store.commit_inbound(
        inbound(key, sender, channel=channel, at=at), RecordingRouter(queue), policy
    )
    return result.ticket_id


async def claim(store: Store, ticket_id: int, agent: Actor, at: datetime) -> None:
    change = TicketChange(status=Status.OPEN, assignee=agent.name, actor=agent)
    await store.update_ticket(ticket_id, change, at)


async def reply(store: Store, ticket_id: int, agent: Actor, at: datetime, status: str) -> None:
    message = await store.append_outbound(ticket_id, "hello", agent.name, at)
    failed = status == "failed"
    delivery = Delivery(status, "" if failed else f"P{message.id}", "boom" if failed else "")
    await store.record_delivery(message.id, delivery)


async def resolve(store: Store, ticket_id: int, agent: Actor, at: datetime) -> None:
    await store.update_ticket(ticket_id, TicketChange(status=Status.RESOLVED, actor=agent), at)


async def write_fortnight(store: Store) -> dict[str, int]:
    """The tickets t1..t7 (t5 before the window, t7 after it), by name."""
    t5 = await contact(
        store, "p5", "email:old@x.org", "email", "general", START - timedelta(days=1)
    )
    t1 = await contact(store, "e1", "email:one@x.org", "email", "billing", T)
    await claim(store, t1, ANN, h(1 / 6))
    await reply(store, t1, ANN, h(0.5), "sent")
    await resolve(store, t1, ANN, h(2))
    t2 = await contact(store, "f2", "email:one@x.org", "form", "=billing", h(20))  # back: repeat
    t3 = await contact(store, "s3", "phone:+15550000003", "sms", "general", h(24))
    await claim(store, t3, BOB, h(25))
    await reply(store, t3, BOB, h(26), "failed")  # never reached the customer: no response
    await reply(store, t3, BOB, h(27), "sent")
    await resolve(store, t3, BOB, h(29))
    await resolve(store, t5, BOB, h(30))  # an older ticket's events count for nothing
    t4 = await contact(store, "e4", "email:four@x.org", "email", "billing", h(72))
    await claim(store, t4, ANN, h(72))
    await reply(store, t4, ANN, h(73), "sent")
    await reply(store, t4, ANN, h(74), "sent")
    await resolve(store, t4, ANN, h(76))
    await contact(store, "e4b", "email:four@x.org", "email", "billing", h(78), policy=DAY_WINDOW)
    await reply(store, t4, ANN, h(79), "sent")
    await resolve(store, t4, ANN, h(80))
    t6 = await contact(store, "k6", "email:six@x.org", "slack", "general", h(13 * 24))
    t7 = await contact(
        store, "e7", "phone:+15550000003", "sms", "general", END + timedelta(hours=1)
    )
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "t7": t7}


def spread(count: int, p50: float | None, p90: float | None, mean: float | None) -> dict[str, Any]:
    return {"count": count, "p50": p50, "p90": p90, "mean": mean}


FIGURES: dict[str, Any] = {
    "created": 5,  # t1 t2 t3 t4 t6
    "resolved": 3,  # t1 t3 t4
    "backlog": 2,  # t2 t6
    # t1 0.5 h, t3 3 h (its failed reply at 2 h is none), t4 1 h
    "first_response": spread(3, 3600.0, 10800.0, 5400.0),
    # t1 2 h, t3 5 h, t4 8 h (its last resolution, after the reopening)
    "resolution": spread(3, 18000.0, 28800.0, 18000.0),
    "one_touch": {"of": 3, "count": 2, "percent": 66.67},  # t1, t3 (one reply reached each)
    "repeat_contact": {"of": 3, "count": 1, "percent": 33.33},  # t1: the customer's t2, 18 h on
    "agents": [
        # ann: t1 (held 10 min .. 2 h), t4 (0 .. 4 h and 6 .. 8 h after the reopening)
        {"agent": "ann", "handled": 2, "first_response": spread(2, 1800.0, 3600.0, 2700.0),
         "handle_time": spread(2, 6600.0, 21600.0, 14100.0)},
        {"agent": "bob", "handled": 1, "first_response": spread(1, 10800.0, 10800.0, 10800.0),
         "handle_time": spread(1, 14400.0, 14400.0, 14400.0)},
    ],
}  # fmt: skip
BEHIND = {
    "created": ["t1", "t2", "t3", "t4", "t6"],
    "resolved": ["t1", "t3", "t4"],
    "backlog": ["t2", "t6"],
    "first_response": ["t1", "t3", "t4"],
    "one_touch": ["t1", "t3"],
    "repeat_contact": ["t1"],
}
