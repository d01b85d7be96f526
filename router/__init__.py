"""Routing: supervisor-written rules -> where each contact goes, and why. Pure, no I/O.

ruleset = load_ruleset(path.read_text(), str(path))   # RuleError lists every problem
decision = ruleset.decide(inbound, facts)              # a core.model.Router: pure, never raises
print(format_explanation(decision))
"""

from router.engine import Ruleset, compile_rules, default_ruleset, format_explanation, load_ruleset
from router.hours import Calendar
from router.spec import Limits, QueueKind, QueueSpec, Sla, SlaPolicy

__all__ = [
    "Calendar",
    "Limits",
    "QueueKind",
    "QueueSpec",
    "Ruleset",
    "Sla",
    "SlaPolicy",
    "compile_rules",
    "default_ruleset",
    "format_explanation",
    "load_ruleset",
]
