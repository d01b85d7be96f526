"""The `sla` of a queue or a rule in the rules file, read into a `router.spec.SlaPolicy`:

    sla:
      first_response: 4h          # business time, in the queue's calendar
      next_response: 8h
      periodic_update: 1d
      resolution: 2d
      urgent: {first_response: 30m}   # per priority, over the base targets
      warn_at: 80%                # default 75%
      on_breach: {escalate: true, priority: urgent, tags: [sla-missed]}

Each problem is reported with its line and the queue or rule it belongs to.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta
from types import MappingProxyType

from yaml.nodes import MappingNode, Node, ScalarNode

from core.duration import parse_duration
from core.model import Priority
from router.spec import OnBreach, QueueSpec, Sla, SlaPolicy
from router.workflow import escalation_target
from router.yamlnodes import Reader

SLA_TARGETS = ("first_response", "next_response", "periodic_update", "resolution")
PRIORITIES = tuple(p.value for p in Priority)
SLA_KEYS = (*SLA_TARGETS, *PRIORITIES, "warn_at", "on_breach")
ON_BREACH_KEYS = ("escalate", "priority", "tags")
MAX_BREACH_TAGS = 20


def sla_policy(reader: Reader, where: str, node: Node) -> SlaPolicy | None:
    """`{first_response: 4h, resolution: 2d, urgent: {first_response: 30m}, warn_at: 80%}`."""
    parts = reader.fields(node, where, "an sla", SLA_KEYS)
    base = _sla(reader, where, {k: v for k, v in parts.items() if k in SLA_TARGETS})
    refined: dict[Priority, Sla] = {}
    for priority in PRIORITIES:
        if priority in parts:
            targets = reader.fields(parts[priority], where, f"the {priority} sla", SLA_TARGETS)
            sla = _sla(reader, where, targets)
            if sla is None:
                return None
            refined[Priority(priority)] = sla
    warn_at = _warn_at(reader, where, parts.get("warn_at"))
    on_breach = _on_breach(reader, where, parts["on_breach"]) if "on_breach" in parts else None
    if base is None or warn_at == 0.0 or ("on_breach" in parts and on_breach is None):
        return None
    return SlaPolicy(base, MappingProxyType(refined), warn_at, on_breach or OnBreach())


def _sla(reader: Reader, where: str, targets: Mapping[str, Node]) -> Sla | None:
    values = {key: read_duration(reader, where, key, node) for key, node in targets.items()}
    if any(v is None for v in values.values()):
        return None
    return Sla(**values)


def _warn_at(reader: Reader, where: str, node: Node | None) -> float | None:
    """The share of a target, from `80%` or `80`; None when not given, 0.0 when wrong."""
    if node is None:
        return None
    text = str(node.value).strip() if isinstance(node, ScalarNode) else ""
    try:
        percent = float(text.removesuffix("%"))
    except ValueError:
        percent = float("nan")
    if not 0 < percent < 100:  # also false for NaN
        reader.report(node, where, f"warn_at must be a percentage between 0 and 100, not {text!r}")
        return 0.0
    return percent / 100


def _on_breach(reader: Reader, where: str, node: Node) -> OnBreach | None:
    """`{escalate: true, priority: urgent, tags: [late]}`."""
    parts = reader.fields(node, where, "on_breach", ON_BREACH_KEYS)
    escalate = reader.flag(parts["escalate"], where, "escalate") if "escalate" in parts else False
    priority = (
        reader.choice(parts["priority"], where, "priority", PRIORITIES)
        if "priority" in parts
        else ""
    )
    tags = reader.texts(parts["tags"], where, "tags", MAX_BREACH_TAGS) if "tags" in parts else ()
    if escalate is None or priority is None or tags is None:
        return None
    return OnBreach(escalate, Priority(priority) if priority else None, tags)


def read_duration(reader: Reader, where: str, what: str, node: Node) -> timedelta | None:
    """A positive duration like `90s`, `4h` or `1h30m`; None (reported) otherwise."""
    text = reader.text(node, where, what)
    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        reader.report(node, where, f"{what}: {exc}")
        return None
    if value <= timedelta(0):
        reader.report(node, where, f"{what} must be longer than 0")
        return None
    return value


def check_escalations(
    reader: Reader, queues: Mapping[str, QueueSpec], nodes: Mapping[str, Node]
) -> Collection[str]:
    """Report each queue whose `on_breach` escalates with no higher tier to go to; the names
    of those queues (`nodes` are the queues' value nodes, for the line)."""
    wrong = []
    for name, spec in queues.items():
        if spec.sla.on_breach.escalate and escalation_target(queues, name) is None:
            at = escalation_node(nodes[name])
            reader.report(at, f"queue {name!r}", "on_breach escalates, but no queue is above it")
            wrong.append(name)
    return wrong


def escalation_node(node: Node) -> Node:
    """The `escalate` node under a queue's or a rule's `sla: {on_breach: ...}` (for the line);
    the nearest node found on the way."""
    for key in ("sla", "on_breach", "escalate"):
        child = _child(node, key)
        if child is None:
            return node
        node = child
    return node


def _child(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                found: Node = value
                return found
    return None
