"""The rules file: YAML text -> a validated `RulesDoc`, or a RuleError listing every problem.

Sections: `calendars`, `queues`, `rules` (ordered) and `default`; see
config/rules.example.yaml for every feature. Each problem names the file, the line and the
rule (or queue, calendar) it belongs to, and suggests the closest name when one was misspelt:

    rules.yaml:12: rule 'billing words': unknown operator 'containz' (did you mean 'contains'?)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.errors import RuleError
from core.model import Priority
from router.conditions import ConditionReader
from router.sections import PRIORITIES, read_calendars, read_queues, sla_policy
from router.spec import DEFAULT_LIMITS, Actions, Limits, QueueSpec, Rule, RulesDoc, SlaPolicy
from router.workflow import escalation_target
from router.yamlnodes import Reader, compose, is_null, line_of, suggest

SECTIONS = ("calendars", "queues", "rules", "default")
RULE_KEYS = ("name", "description", "when", "then")
ACTIONS = ("queue", "priority", "tags", "skills", "sla", "auto_reply", "campaign", "continue")
DEFAULT_ACTIONS = tuple(a for a in ACTIONS if a != "continue")
T = TypeVar("T")


def load_document(text: str, filename: str, limits: Limits = DEFAULT_LIMITS) -> RulesDoc:
    """Validate a rules file; RuleError(problems=...) lists everything wrong at once."""
    if len(text) > limits.max_source_chars:
        raise RuleError(f"{filename}: {len(text)} characters (limit {limits.max_source_chars})")
    root = compose(text, filename)
    if root is None:
        raise RuleError(f"{filename}: empty", (f"{filename}:1: the file needs queues and default",))
    reader = Reader(filename)
    sections = reader.fields(root, "", "the rules file", SECTIONS, required=("queues", "default"))
    # An empty section (`rules:` with nothing under it) is as if it were left out.
    sections = {k: v for k, v in sections.items() if not is_null(v)}
    calendars = read_calendars(reader, sections.get("calendars"))
    queues = read_queues(reader, sections.get("queues"), calendars)
    context = _RuleReader(reader, frozenset(calendars), frozenset(queues), limits)
    rules = context.rules(sections.get("rules"))
    default = context.default(sections.get("default"))
    _check_rule_escalations(reader, rules, {k: v for k, v in queues.items() if v is not None})
    problems = reader.sorted_problems()
    if problems or default is None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise RuleError(f"{filename}: {count}", problems)
    return RulesDoc(
        filename,
        text,
        MappingProxyType({k: v for k, v in calendars.items() if v is not None}),
        MappingProxyType({k: v for k, v in queues.items() if v is not None}),
        rules,
        default,
    )


@dataclass
class _RuleReader:
    reader: Reader
    calendars: frozenset[str]
    queues: frozenset[str]
    limits: Limits

    def rules(self, node: Node | None) -> tuple[Rule, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode):
            self.reader.report(node, "rules", "rules must be a list")
            return ()
        if len(node.value) > self.limits.max_rules:
            count = len(node.value)
            self.reader.report(
                node, "rules", f"{count} rules (the limit is {self.limits.max_rules})"
            )
            return ()
        first_line: dict[str, int] = {}
        out: list[Rule] = []
        for index, item in enumerate(node.value, start=1):
            rule = self._rule(index, item, first_line)
            if rule is not None:
                out.append(rule)
        return tuple(out)

    def _rule(self, index: int, node: Node, first_line: dict[str, int]) -> Rule | None:
        label = _peek_name(node)
        where = f"rule {label!r}" if label else f"rule #{index}"
        parts = self.reader.fields(node, where, "a rule", RULE_KEYS, ("name", "then"))
        name = self._rule_name(parts.get("name"), where, first_line)
        when = None
        if "when" in parts:
            when = ConditionReader(self.reader, where, self.calendars, self.limits).read(
                parts["when"]
            )
        then = self.actions(parts["then"], where, ACTIONS) if "then" in parts else None
        if "description" in parts:
            self.reader.text(parts["description"], where, "description")
        if not name or then is None or ("when" in parts and when is None):
            return None
        return Rule(name, line_of(node), when, then)

    def _rule_name(self, node: Node | None, where: str, first_line: dict[str, int]) -> str | None:
        if node is None:
            return None
        name = self.reader.text(node, where, "name")
        if name is None:
            return None
        if name in first_line:  # reported; the name still labels the rule's other problems
            self.reader.report(
                node, where, f"duplicate rule name (first at line {first_line[name]})"
            )
        else:
            first_line[name] = line_of(node)
        return name

    def default(self, node: Node | None) -> Actions | None:
        if node is None:
            return None
        actions = self.actions(node, "default", DEFAULT_ACTIONS)
        if actions is not None and actions.queue is None:
            self.reader.report(node, "default", "needs a queue")
            return None
        return actions

    def actions(self, node: Node, where: str, allowed: tuple[str, ...]) -> Actions | None:
        parts = self.reader.fields(
            node, where, "'then'" if "continue" in allowed else where, allowed
        )
        if not parts:
            self.reader.report(node, where, "needs at least one action, e.g. {queue: general}")
            return None
        values = {key: self._action(key, value, where) for key, value in parts.items()}
        if any(v is None for v in values.values()):
            return None
        return Actions(
            queue=_as(values.get("queue"), str),
            priority=_as(values.get("priority"), Priority),
            tags=_as(values.get("tags"), tuple) or (),
            skills=_as(values.get("skills"), tuple) or (),
            sla=_as(values.get("sla"), SlaPolicy),
            auto_reply=_as(values.get("auto_reply"), str),
            campaign=_as(values.get("campaign"), str),
            proceed=bool(values.get("continue", False)),
        )

    def _action(self, key: str, node: Node, where: str) -> object | None:
        reader = self.reader
        if key == "queue":
            return self._queue_ref(node, where)
        if key == "priority":
            value = reader.choice(node, where, "priority", PRIORITIES)
            return None if value is None else Priority(value)
        if key in ("tags", "skills"):
            return reader.texts(node, where, key, self.limits.max_values)
        if key == "sla":
            return sla_policy(reader, where, node)
        if key == "continue":
            return reader.flag(node, where, "continue")
        return reader.text(node, where, key)

    def _queue_ref(self, node: Node, where: str) -> str | None:
        name = self.reader.text(node, where, "queue")
        if name is not None and name not in self.queues:
            self.reader.report(node, where, f"unknown queue {name!r}{suggest(name, self.queues)}")
            return None
        return name


def _check_rule_escalations(
    reader: Reader, rules: tuple[Rule, ...], queues: Mapping[str, QueueSpec]
) -> None:
    """A rule whose `sla` escalates on breach from the queue it sets, with no tier above."""
    for rule in rules:
        sla, queue = rule.then.sla, rule.then.queue
        if sla is None or queue is None or queue not in queues or not sla.on_breach.escalate:
            continue
        if escalation_target(queues, queue) is None:
            where = f"{reader.filename}:{rule.line}: rule {rule.name!r}"
            message = f"on_breach escalates, but no queue is above {queue!r}"
            reader.problems.append((rule.line, f"{where}: {message}"))


def _peek_name(node: Node) -> str | None:
    """The rule's name before it is validated, to label every problem of the rule."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.value == "name" and isinstance(value, ScalarNode) and value.value:
                return str(value.value)
    return None


def _as(value: object, kind: type[T]) -> T | None:
    return value if isinstance(value, kind) else None
