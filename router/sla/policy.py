"""Which SLA terms apply to a ticket: its queue's policy for its priority, under the `sla` of
the rule that routed it there (or the default's) while it stays in that queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.model import Priority
from router.hours import Calendar
from router.spec import DEFAULT_WARN_AT, OnBreach, RulesDoc, Sla, SlaPolicy

Lookup = Callable[[str, Priority, str | None], "Terms"]
"""(queue, priority, the routing rule while in its queue else None) -> the terms."""


@dataclass(frozen=True, slots=True)
class Terms:
    """Everything a clock needs for one stretch of a ticket's life."""

    sla: Sla = field(default_factory=Sla)
    warn_at: float = DEFAULT_WARN_AT
    calendar: Calendar | None = None  # None: always open
    on_breach: OnBreach = field(default_factory=OnBreach)


NO_TERMS = Terms()


def terms_for(doc: RulesDoc, queue: str, priority: Priority, rule: str | None = None) -> Terms:
    """The terms of `queue` for `priority`, a routing rule's `sla` over the queue's; no
    targets for a queue the rules no longer have."""
    spec = doc.queues.get(queue)
    if spec is None:
        return NO_TERMS
    calendar = doc.calendars.get(spec.calendar) if spec.calendar else None
    terms = _terms(spec.sla, priority, calendar)
    override = _routing_sla(doc, rule)
    if override is None:
        return terms
    return Terms(
        override.for_priority(priority).over(terms.sla),
        terms.warn_at if override.warn_at is None else override.warn_at,
        calendar,
        terms.on_breach if override.on_breach == OnBreach() else override.on_breach,
    )


def lookup_in(doc: RulesDoc) -> Lookup:
    """`terms_for` bound to one version of the rules."""
    return lambda queue, priority, rule: terms_for(doc, queue, priority, rule)


def _terms(policy: SlaPolicy, priority: Priority, calendar: Calendar | None) -> Terms:
    warn_at = DEFAULT_WARN_AT if policy.warn_at is None else policy.warn_at
    return Terms(policy.for_priority(priority), warn_at, calendar, policy.on_breach)


def _routing_sla(doc: RulesDoc, rule: str | None) -> SlaPolicy | None:
    if rule is None:
        return doc.default.sla
    for candidate in doc.rules:
        if candidate.name == rule:
            return candidate.then.sla
    return None
