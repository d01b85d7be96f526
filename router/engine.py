"""Compiled rules -> a Decision (queue, priority, tags, SLA) with its explanation.

Semantics, in the order rules are written:
- A matching rule applies its actions. The first queue set stands; tags and skills
  accumulate; the first priority set stands and later rules may only raise it; SLA targets
  set by rules take the shortest given, the queue's policy fills the rest.
- A matching rule stops evaluation unless it says `continue: true`.
- When no rule set a queue, `default` applies like one last rule.
The explanation has one line per rule evaluated (the first condition that failed, or
"matched") and, when the default applied, a line saying so.

A `Ruleset` is the `core.model.Router` the store calls inside its transaction: `decide` is
pure, no I/O, no clock (a contact's time is `inbound.received_at`), and it never raises;
`needs_history` tells the store whether to read the customer's tags and open tickets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from core.deadlines import SlaMarks
from core.duration import format_duration
from core.model import CustomerFacts, Decision, Inbound, Priority
from core.record import TicketEvent
from router.contact import Contact, Lookups
from router.hours import Calendar
from router.index import Bucket, BucketKey, Plan, build_bucket, gate_values, plan_rule
from router.keywords import KeywordMatcher
from router.patterns import PatternMatcher
from router.rules import load_document
from router.sla.business import add_business
from router.sla.marks import marks_at
from router.sla.policy import lookup_in
from router.spec import (
    DEFAULT_LIMITS,
    SLA_ORDER,
    Actions,
    AllOf,
    AnyOf,
    Field,
    Leaf,
    Limits,
    NotOf,
    QueueSpec,
    Rule,
    RulesDoc,
    Sla,
    TagsContain,
    TextContains,
    TextMatches,
    Within,
)

DEFAULT_RULES = """\
queues:
  general: {kind: inbound, tier: 1}
default: {queue: general, priority: normal}
"""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule ready to run: its plan (gates, check, anchors) and what it does."""

    plan: Plan
    then: Actions
    fired_line: str


@dataclass(frozen=True, slots=True)
class Ruleset:
    """One validated, compiled version of the rules; swap the whole object to reload."""

    doc: RulesDoc
    compiled: tuple[Compiled, ...] = field(repr=False)
    lookups: Lookups = field(repr=False)
    channels: frozenset[str] = field(repr=False)
    events: frozenset[str] = field(repr=False)
    needs_history: bool
    """Whether any rule reads the customer's tags or open tickets (core.model.Router)."""
    buckets: dict[BucketKey, Bucket] = field(repr=False, compare=False)

    @property
    def source(self) -> str:
        return self.doc.source

    @property
    def queues(self) -> Mapping[str, QueueSpec]:
        return self.doc.queues

    @property
    def calendars(self) -> Mapping[str, Calendar]:
        return self.doc.calendars

    def decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        """Where the contact goes and why; never raises."""
        try:
            return self._decide(inbound, facts)
        # A rule that raised would fail the store's transaction on every retry of the same
        # message: route it to the default queue, say why, and keep the contact.
        except Exception as exc:  # noqa: BLE001  # whatever a rule raises, as the comment says
            return self._fallback(exc)

    def sla_after(self, events: Sequence[TicketEvent], now: datetime) -> SlaMarks | None:
        """A ticket's marks at `now` from its record, under these rules (core.model.Router)."""
        if not events:
            return None
        try:
            return marks_at(events[0].ticket_id, events, lookup_in(self.doc), now)
        except Exception:  # noqa: BLE001  # as decide: never fail the store's commit
            return None  # the SLA watcher computes them again from the record

    def _decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        contact = Contact(inbound, facts, self.lookups)
        bucket = self._bucket(contact)
        outcome = _Outcome()
        lines: list[str] = []
        done = 0
        for index in bucket.candidates(contact):
            lines.extend(bucket.lines[done:index])
            done = index + 1
            rule = self.compiled[index]
            reason = rule.plan.check.fails(contact) if rule.plan.check else None
            if reason is not None:
                lines.append(f"rule {rule.plan.name!r}: {reason}")
                continue
            lines.append(rule.fired_line)
            outcome.apply(rule.plan.name, rule.then)
            if not rule.then.proceed:
                break
        else:
            lines.extend(bucket.lines[done:])
        return outcome.decision(self.doc, lines, inbound.received_at)

    def _bucket(self, contact: Contact) -> Bucket:
        channel = contact.folded(Field.CHANNEL)
        event = contact.folded(Field.EVENT)
        key = (
            channel if channel in self.channels else None,
            event if event in self.events else None,
        )
        bucket = self.buckets.get(key)
        if bucket is None:
            # Racing threads may both build it: equal values, and dict stores are atomic.
            bucket = self.buckets[key] = build_bucket([c.plan for c in self.compiled], key)
        return bucket

    def _fallback(self, exc: Exception) -> Decision:
        default = self.doc.default
        reason = f"router error ({type(exc).__name__}): sent to the default queue"
        return Decision(
            queue=default.queue or "general",
            priority=default.priority or Priority.NORMAL,
            explanation=(reason,),
        )


class _Outcome:
    """Actions of the matching rules, combined as the module docstring says."""

    def __init__(self) -> None:
        self.queue: str | None = None
        self.rule: str | None = None
        self.priority: Priority | None = None
        self.tags: dict[str, None] = {}
        self.skills: dict[str, None] = {}
        self.sla: list[Actions] = []
        self.auto_reply: str | None = None
        self.campaign: str | None = None

    def apply(self, name: str | None, then: Actions) -> None:
        if then.queue is not None and self.queue is None:
            self.queue, self.rule = then.queue, name
        if then.priority is not None and (
            self.priority is None or then.priority.rank > self.priority.rank
        ):
            self.priority = then.priority
        self.tags.update(dict.fromkeys(then.tags))
        self.skills.update(dict.fromkeys(then.skills))
        if then.sla is not None:
            self.sla.append(then)
        self.auto_reply = self.auto_reply or then.auto_reply
        self.campaign = self.campaign or then.campaign

    def decision(self, doc: RulesDoc, lines: list[str], at: datetime) -> Decision:
        if self.queue is None:
            chosen = self.priority
            self.apply(None, doc.default)
            # The default's priority fills a gap; it never overrides a rule's, even upwards.
            self.priority = chosen or self.priority
            lines.append(f"no rule set the queue: default queue {self.queue!r}")
        queue = self.queue or "general"
        priority = self.priority or Priority.NORMAL
        spec = doc.queues[queue]
        sla = self._sla(spec, priority)
        calendar = doc.calendars.get(spec.calendar) if spec.calendar else None
        return Decision(
            queue=queue,
            priority=priority,
            tags=tuple(self.tags),
            skills=tuple(self.skills),
            rule=self.rule,
            explanation=tuple(lines),
            first_response=sla.first_response,
            resolution=sla.resolution,
            first_response_due=_due(calendar, at, sla.first_response),
            resolution_due=_due(calendar, at, sla.resolution),
            auto_reply=self.auto_reply,
            campaign=self.campaign,
        )

    def _sla(self, queue: QueueSpec, priority: Priority) -> Sla:
        """Rules' targets (the shortest wins) over the queue's, for the decided priority."""
        targets = [a.sla.for_priority(priority) for a in self.sla if a.sla is not None]
        shortest = Sla(*(_shortest([t.target(m) for t in targets]) for m in SLA_ORDER))
        return shortest.over(queue.sla.for_priority(priority))


def _shortest(values: list[timedelta | None]) -> timedelta | None:
    given = [v for v in values if v is not None]
    return min(given) if given else None


def _due(calendar: Calendar | None, at: datetime, target: timedelta | None) -> datetime | None:
    """A target counted in the queue's business hours from the contact's time."""
    return None if target is None else add_business(calendar, at, target)


def _fired_line(name: str, then: Actions) -> str:
    parts = []
    if then.queue:
        parts.append(f"queue {then.queue}")
    if then.priority:
        parts.append(f"priority {then.priority}")
    if then.tags:
        parts.append(f"tags {', '.join(then.tags)}")
    if then.skills:
        parts.append(f"skills {', '.join(then.skills)}")
    if then.proceed:
        parts.append("continue")
    return f"rule {name!r} matched" + (f": {'; '.join(parts)}" if parts else "")


def _leaves(rules: Iterable[Rule]) -> Iterator[Leaf]:
    stack = [rule.when for rule in rules if rule.when is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, AllOf | AnyOf):
            stack.extend(node.children)
        elif isinstance(node, NotOf):
            stack.append(node.child)
        else:
            yield node


def _by_field(leaves: Iterable[Leaf]) -> tuple[dict[Field, set[str]], dict[Field, set[str]]]:
    """Every `contains` keyword and every `matches` pattern, by field."""
    keywords: dict[Field, set[str]] = {}
    patterns: dict[Field, set[str]] = {}
    for leaf in leaves:
        if isinstance(leaf, TextContains):
            keywords.setdefault(leaf.field, set()).update(leaf.phrases)
        elif isinstance(leaf, TextMatches):
            patterns.setdefault(leaf.field, set()).add(leaf.pattern)
    return keywords, patterns


def _reads_history(leaf: Leaf) -> bool:
    """Whether the leaf needs the customer's tags or open tickets, which cost the store a read."""
    if isinstance(leaf, TagsContain):
        return True
    if isinstance(leaf, Within):
        return False
    return leaf.field in (Field.TAGS, Field.OPEN_TICKETS)


def compile_rules(doc: RulesDoc, limits: Limits = DEFAULT_LIMITS) -> Ruleset:
    """Compile once per rules version: plans, one keyword matcher per field, buckets."""
    compiled = tuple(
        Compiled(plan_rule(rule), rule.then, _fired_line(rule.name, rule.then))
        for rule in doc.rules
    )
    leaves = list(_leaves(doc.rules))
    keywords, patterns = _by_field(leaves)
    lookups = Lookups(
        {field: KeywordMatcher.build(words) for field, words in keywords.items()},
        {field: PatternMatcher.build(found, limits) for field, found in patterns.items()},
        doc.calendars,
        limits.scan_chars,
    )
    plans = [c.plan for c in compiled]
    ruleset = Ruleset(
        doc,
        compiled,
        lookups,
        gate_values(plans, Field.CHANNEL),
        gate_values(plans, Field.EVENT),
        any(_reads_history(leaf) for leaf in leaves),
        {},
    )
    for channel in (*ruleset.channels, None):  # warm the buckets traffic will use
        for event in (*ruleset.events, None):
            ruleset.buckets[(channel, event)] = build_bucket(plans, (channel, event))
    return ruleset


def load_ruleset(text: str, filename: str, limits: Limits = DEFAULT_LIMITS) -> Ruleset:
    """Validate and compile a rules file; RuleError lists every problem with its line."""
    return compile_rules(load_document(text, filename, limits), limits)


@cache
def default_ruleset() -> Ruleset:
    """The embedded default when no rules file is configured: everything to `general`."""
    return load_ruleset(DEFAULT_RULES, "<default rules>")


def format_explanation(decision: Decision, sla: Sequence[str] | None = None) -> str:
    """A decision and its reasons, for a terminal or a ticket view; `sla` says the SLA in
    full (router/sla/describe.py) instead of the decision's two targets."""
    source = f"rule {decision.rule!r}" if decision.rule else "the default"
    head = f"queue {decision.queue} (by {source}), priority {decision.priority}"
    extras = [f"tags: {', '.join(decision.tags)}"] if decision.tags else []
    if decision.skills:
        extras.append(f"skills: {', '.join(decision.skills)}")
    if sla is not None:
        extras += sla
    elif decision.first_response or decision.resolution:
        extras.append(
            f"sla: first response {_span(decision.first_response)}, "
            f"resolution {_span(decision.resolution)}"
        )
    steps = [f"  {n}. {line}" for n, line in enumerate(decision.explanation, start=1)]
    return "\n".join([head, *extras, "why:", *steps])


def _span(value: timedelta | None) -> str:
    return "-" if value is None else format_duration(value)
