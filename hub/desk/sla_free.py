"""Rules without any SLA, and since when no hub can have marked a ticket under them.

Under rules that set no SLA target anywhere (no queue's, no rule's, not the default's),
every ticket's marks are empty, and the SLA watcher's follow has only marks left by older
rules to clear: for that it read every touched ticket (a read per contact, with its hop to a
reader thread). A ticket made after every hub took up such rules has no marks to clear,
so when the follow holds its whole record (hub/desk/sla_records.py) it need not read it.

"Every hub took them up": the rules in force here are the newest stored version (or none
was ever stored, so every hub has run the built-in rules, which set none), and the ticket
was made a `MARGIN` after that version was stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router.spec import RulesDoc, Sla, SlaPolicy
from storage.base import Store

MARGIN = timedelta(minutes=1)
"""Other hubs take up a stored version within their watch interval (2 s by default); a
minute covers that and the differences between their clocks, which stamp the records."""
NEVER = datetime.min.replace(tzinfo=UTC)


def sets_sla(doc: RulesDoc) -> bool:
    """Whether the rules set an SLA target anywhere."""
    policies = [
        *(queue.sla for queue in doc.queues.values()),
        doc.default.sla,
        *(rule.then.sla for rule in doc.rules),
    ]
    return any(_targets(policy) for policy in policies)


def _targets(policy: SlaPolicy | None) -> bool:
    if policy is None:
        return False
    return policy.base != Sla() or any(sla != Sla() for sla in policy.by_priority.values())


async def unmarked_since(store: Store, doc: RulesDoc, version: int | None) -> datetime | None:
    """Since when (the records' time) no hub can have marked a ticket, under the rules
    `doc` of stored `version` in force here; None when tickets may be marked."""
    if sets_sla(doc):
        return None
    newest = await store.current_rules()
    if newest is None:
        return NEVER if version is None else None
    if newest.version != version:
        return None  # this hub is behind (or ahead of what it read): not known
    return newest.created_at + MARGIN
