"""The SLA a new ticket gets, in words (`contacthub rules test`): every target of its terms,
the warning, what a breach does, and when its first response and resolution fall due in
its queue's calendar. Pure: the contact's time is the decision's."""

from __future__ import annotations

from datetime import datetime

from core.duration import format_duration
from core.model import Decision
from router.sla.policy import Terms, terms_for
from router.spec import SLA_ORDER, RulesDoc
from router.workflow import escalation_target


def describe(doc: RulesDoc, decision: Decision) -> list[str]:
    """Lines that say the terms a ticket routed by `decision` runs on (none without targets)."""
    terms = terms_for(doc, decision.queue, decision.priority, decision.rule)
    targets = [(m.value, terms.sla.target(m)) for m in SLA_ORDER]
    named = [f"{name.replace('_', ' ')} {format_duration(t)}" for name, t in targets if t]
    if not named:
        return []
    where = terms.calendar.name if terms.calendar else "wall-clock time, no calendar"
    lines = [f"sla: {', '.join(named)} (business time: {where})"]
    lines.append(
        f"warns at {round(terms.warn_at * 100)}%; on breach: {_on_breach(doc, decision, terms)}"
    )
    dues = [
        f"{what} {_local(terms, due)}"
        for what, due in (("first response", decision.first_response_due),
                          ("resolution", decision.resolution_due))
        if due is not None
    ]  # fmt: skip
    if dues:
        lines.append(f"due: {', '.join(dues)}")
    return lines


def _on_breach(doc: RulesDoc, decision: Decision, terms: Terms) -> str:
    act = terms.on_breach
    acts = []
    if act.escalate:
        acts.append(f"escalate to {escalation_target(doc.queues, decision.queue)}")
    if act.priority is not None:
        acts.append(f"priority {act.priority}")
    if act.tags:
        acts.append(f"tags {', '.join(act.tags)}")
    return "; ".join(acts) or "recorded and counted"


def _local(terms: Terms, due: datetime) -> str:
    zone = terms.calendar.zone if terms.calendar else None
    local = due.astimezone(zone) if zone else due
    return f"{local:%Y-%m-%d %H:%M %Z}"
