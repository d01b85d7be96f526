"""The rules in force: one holder whose ruleset is swapped atomically on reload."""

from __future__ import annotations

from core.model import CustomerFacts, Decision, Inbound


class DefaultRules:
    """Every contact to `general` at normal priority: the embedded default."""

    needs_history = False

    def decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        return Decision("general", explanation=("no rules configured: default queue general",))


class Routing:
    """Holds the current ruleset; `decide` always uses the one in force at the call."""

    def __init__(self, ruleset: DefaultRules) -> None:
        self.ruleset = ruleset

    @property
    def needs_history(self) -> bool:
        return self.ruleset.needs_history

    def decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        return self.ruleset.decide(inbound, facts)

    @property
    def queues(self) -> tuple[str, ...]:
        return ("general",)
