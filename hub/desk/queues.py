"""Which queue a name means, for the endpoints that take one (claim, waiting list, stream).

The rules name the inbound queues; a campaign's queue is named by the campaign, and a queue
left out of the rules may still hold live tickets (campaign calls, a transfer). Any other
name is a typo or a guess, and an endpoint that quietly served it would show an empty queue
forever: it is 404.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import NotFound
from router.spec import QueueSpec
from storage.base import Store


async def known_queue(store: Store, rules_queues: Mapping[str, QueueSpec], name: str) -> QueueSpec:
    """The rules' spec of the queue, or a plain one for a queue with live tickets or a
    campaign; NotFound for any other name."""
    spec = rules_queues.get(name)
    if spec is not None:
        return spec
    if (await store.queue_depth(name)).open > 0:
        return QueueSpec(name)
    if any(campaign.queue == name for campaign in await store.list_campaigns()):
        return QueueSpec(name)
    raise NotFound("queue", repr(name[:60]))
