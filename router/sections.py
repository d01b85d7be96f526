"""The rules file's definitions: calendars and queues (with their SLA policies).

Read from YAML nodes by `rules.py`; each problem is reported with its line and the
calendar or queue it belongs to, and the reader carries on so every problem shows at once.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, timedelta

from yaml.nodes import Node, ScalarNode, SequenceNode

from router.hours import DAYS, Calendar, Range, load_zone, parse_days, parse_ranges
from router.sla_section import PRIORITIES, check_escalations, read_duration, sla_policy
from router.spec import AssignPolicy, AssignSpec, QueueKind, QueueSpec, SlaPolicy
from router.yamlnodes import Reader, line_of, suggest

__all__ = ["PRIORITIES", "read_calendars", "read_queues", "sla_policy", "valid_name"]
TIERS = (1, 2, 3)
# Names end up in URLs (/api/queues/{name}/claim) and logs: keep them plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def valid_name(reader: Reader, node: Node, where: str, what: str) -> bool:
    if _NAME.fullmatch(what):
        return True
    reader.report(node, where, f"name {what!r} must be letters, digits, '_', '.' or '-'")
    return False


# --- calendars --------------------------------------------------------------------------


def read_calendars(reader: Reader, node: Node | None) -> dict[str, Calendar | None]:
    """Every calendar declared; None for one with problems (so references to it still
    resolve and the file reports the calendar's own problem, not a cascade)."""
    if node is None:
        return {}
    out: dict[str, Calendar | None] = {}
    for name, key_node, value in reader.entries(node, "calendars", "calendars"):
        if valid_name(reader, key_node, "calendars", name):
            out[name] = _calendar(reader, name, value)
    return out


def _calendar(reader: Reader, name: str, node: Node) -> Calendar | None:
    where = f"calendar {name!r}"
    parts = reader.fields(
        node,
        where,
        "a calendar",
        ("timezone", "weekly", "holidays", "description"),
        required=("timezone", "weekly"),
    )
    zone_name = reader.text(parts["timezone"], where, "timezone") if "timezone" in parts else None
    zone = None
    if zone_name is not None:
        try:
            zone = load_zone(zone_name)
        except ValueError as exc:
            reader.report(parts["timezone"], where, str(exc))
    weekly = _weekly(reader, where, parts["weekly"]) if "weekly" in parts else None
    holidays = _holidays(reader, where, parts.get("holidays"))
    if zone is None or weekly is None or holidays is None:
        return None
    return Calendar.build(name, zone, weekly, holidays)


def _weekly(reader: Reader, where: str, node: Node) -> dict[int, tuple[Range, ...]] | None:
    weekly: dict[int, tuple[Range, ...]] = {}
    given: dict[int, int] = {}
    ok = True
    for spec, key_node, value in reader.entries(node, where, "weekly"):
        try:
            days = parse_days(spec)
            ranges = parse_ranges(_hours_text(value))
        except ValueError as exc:
            reader.report(key_node, where, str(exc))
            ok = False
            continue
        for day in days:
            if day in given:
                reader.report(
                    key_node, where, f"{spec!r} gives {DAYS[day]} again (line {given[day]})"
                )
                ok = False
            given[day] = line_of(key_node)
            weekly[day] = ranges
    return weekly if ok else None


def _hours_text(node: Node) -> str | list[str]:
    if isinstance(node, SequenceNode):
        return [str(item.value) for item in node.value if isinstance(item, ScalarNode)]
    if isinstance(node, ScalarNode):
        return str(node.value)
    raise ValueError('hours must be text like "08:00-18:00" or a list of those')


def _holidays(reader: Reader, where: str, node: Node | None) -> list[date] | None:
    if node is None:
        return []
    if not isinstance(node, SequenceNode):
        reader.report(node, where, "holidays must be a list of dates like 2026-12-25")
        return None
    days: list[date] = []
    for item in node.value:
        try:
            days.append(date.fromisoformat(str(item.value)))
        except (ValueError, TypeError):
            reader.report(item, where, f"holiday {item.value!r} is not a date like 2026-12-25")
    return days if len(days) == len(node.value) else None


QUEUE_KEYS = ("kind", "tier", "calendar", "sla", "escalate_to", "assign", "description")


# --- queues and SLAs --------------------------------------------------------------------


def read_queues(
    reader: Reader, node: Node | None, calendars: Collection[str]
) -> dict[str, QueueSpec | None]:
    """Every queue declared; None for one with problems (as for calendars)."""
    if node is None:
        return {}
    entries = list(reader.entries(node, "queues", "queues"))
    names = frozenset(name for name, _, _ in entries)
    out: dict[str, QueueSpec | None] = {}
    for name, key_node, value in entries:
        if valid_name(reader, key_node, "queues", name):
            out[name] = _queue(reader, name, value, calendars, names)
    valid = {name: spec for name, spec in out.items() if spec is not None}
    nodes = {name: value for name, _, value in entries}
    for name in check_escalations(reader, valid, nodes):
        out[name] = None
    return out


def _queue(
    reader: Reader, name: str, node: Node, calendars: Collection[str], names: Collection[str]
) -> QueueSpec | None:
    where = f"queue {name!r}"
    if isinstance(node, ScalarNode) and not node.value:  # `general:` alone takes the defaults
        return QueueSpec(name)
    parts = reader.fields(node, where, "a queue", QUEUE_KEYS)
    kind = (
        reader.choice(parts["kind"], where, "kind", tuple(QueueKind))
        if "kind" in parts
        else "inbound"
    )
    tier = _tier(reader, where, parts.get("tier"))
    calendar = _calendar_ref(reader, where, parts.get("calendar"), calendars)
    sla = sla_policy(reader, where, parts["sla"]) if "sla" in parts else SlaPolicy()
    escalate_to = _escalation_ref(reader, where, name, parts.get("escalate_to"), names)
    assign = assign_spec(reader, where, parts["assign"]) if "assign" in parts else AssignSpec()
    if kind is None or tier is None or sla is None or assign is None:
        return None
    if calendar == "" or escalate_to == "":
        return None
    return QueueSpec(name, QueueKind(kind), tier, calendar, sla, escalate_to, assign)


def _escalation_ref(
    reader: Reader, where: str, name: str, node: Node | None, names: Collection[str]
) -> str | None:
    """The queue escalations go to, None for the next tier's, "" when wrong (reported)."""
    if node is None:
        return None
    target = reader.text(node, where, "escalate_to")
    if target is None:
        return ""
    if target == name:
        reader.report(node, where, "escalate_to names the queue itself")
        return ""
    if target not in names:
        reader.report(node, where, f"escalate_to: unknown queue {target!r}{suggest(target, names)}")
        return ""
    return target


def assign_spec(reader: Reader, where: str, node: Node) -> AssignSpec | None:
    """`{policy: longest_idle, offer_timeout: 120s, skills: required}`."""
    parts = reader.fields(node, where, "assign", ("policy", "offer_timeout", "skills"))
    default = AssignSpec()
    policy = (
        reader.choice(parts["policy"], where, "policy", tuple(AssignPolicy))
        if "policy" in parts
        else default.policy
    )
    timeout = (
        read_duration(reader, where, "offer_timeout", parts["offer_timeout"])
        if "offer_timeout" in parts
        else default.offer_timeout
    )
    skills = (
        reader.choice(parts["skills"], where, "skills", ("required", "preferred"))
        if "skills" in parts
        else "required"
    )
    if policy is None or timeout is None or skills is None:
        return None
    if timeout < timedelta(seconds=5):
        reader.report(parts["offer_timeout"], where, "offer_timeout must be at least 5s")
        return None
    return AssignSpec(AssignPolicy(policy), timeout, skills == "required")


def _tier(reader: Reader, where: str, node: Node | None) -> int | None:
    if node is None:
        return 1
    tier = reader.integer(node, where, "tier")
    if tier is not None and tier not in TIERS:
        reader.report(node, where, f"tier must be 1, 2 or 3, not {tier}")
        return None
    return tier


def _calendar_ref(
    reader: Reader, where: str, node: Node | None, calendars: Collection[str]
) -> str | None:
    """The calendar's name, None for none, "" for a bad reference (already reported)."""
    if node is None:
        return None
    name = reader.text(node, where, "calendar")
    if name is not None and name not in calendars:
        reader.report(node, where, f"unknown calendar {name!r}{suggest(name, calendars)}")
        return ""
    return name if name is not None else ""
