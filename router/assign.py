"""Assignment policy: which agent a waiting ticket is offered to, and why. Pure, no I/O.

`choose` takes what the store knows of each person at the moment of the offer (presence, the
queues they serve, skills, load and capacity on the ticket's channel, when they were last
offered work and since when they hold nothing) and the queue's `AssignSpec`, and answers with
the chosen agent and an explanation that names every candidate passed over and why the chosen
one won. The time is an argument, so the same inputs always give the same choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from core.people import Agent, Presence, WaitingTicket
from router.spec import AssignPolicy, AssignSpec


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    presence: Presence
    serves_queue: bool
    skills: frozenset[str]
    capacity: int  # how many tickets of the ticket's channel they may hold
    load: int  # how many they hold or are offered now
    last_offered_at: datetime | None = None
    idle_since: datetime | None = None  # holding nothing since (None: holding something)


@dataclass(frozen=True, slots=True)
class Need:
    """What the ticket asks of an agent."""

    queue: str
    channel: str
    skills: frozenset[str] = frozenset()
    declined_by: frozenset[str] = frozenset()  # agents who rejected it or let it time out

    @classmethod
    def of(cls, ticket: WaitingTicket) -> Need:
        return cls(ticket.queue, ticket.channel, ticket.skills, ticket.declined_by)


@dataclass(frozen=True, slots=True)
class Choice:
    agent: str | None
    explanation: tuple[str, ...]


def candidate(agent: Agent, need: Need, now: datetime) -> Candidate:
    """What the policy sees of a stored agent, for one ticket."""
    return Candidate(
        name=agent.name,
        presence=agent.presence,
        serves_queue=agent.serves(need.queue),
        skills=agent.skills,
        capacity=agent.capacity_on(need.channel),
        load=agent.load_on(need.channel),
        last_offered_at=agent.last_offered_at,
        idle_since=agent.idle_since(),
    )


def passed_over(need: Need, candidate: Candidate, skills_required: bool) -> str | None:
    """Why `candidate` cannot take the ticket, or None when they can."""
    if candidate.presence is not Presence.ONLINE:
        return str(candidate.presence)
    if candidate.name in need.declined_by:
        return "declined this ticket before"
    if not candidate.serves_queue:
        return f"does not serve queue {need.queue}"
    if candidate.load >= candidate.capacity:
        return f"at capacity on {need.channel} ({candidate.load} of {candidate.capacity})"
    missing = sorted(need.skills - candidate.skills)
    if missing and skills_required:
        return f"lacks skill {', '.join(missing)}"
    return None


def claim_refusal(agent: Agent, need: Need, skills_required: bool) -> str | None:
    """Why an agent may not claim the ticket (a claim is deliberate: any presence, and a
    ticket they declined is theirs to take after all), or None when they may."""
    held, capacity = agent.load_on(need.channel), agent.capacity_on(need.channel)
    if held >= capacity:
        return f"at capacity on {need.channel} ({held} of {capacity})"
    missing = sorted(need.skills - agent.skills)
    if missing and skills_required:
        return f"lacks skill {', '.join(missing)}"
    return None


def choose(spec: AssignSpec, need: Need, candidates: Iterable[Candidate], now: datetime) -> Choice:
    """The agent to offer the ticket to under the queue's policy (None: nobody fits, or the
    queue is manual), with one line per candidate passed over and one for the winner."""
    if spec.policy is AssignPolicy.MANUAL:
        return Choice(None, ("queue assigns manually: agents claim",))
    lines: list[str] = []
    eligible: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: c.name):
        reason = passed_over(need, candidate, spec.skills_required)
        if reason is None:
            eligible.append(candidate)
        else:
            lines.append(f"{candidate.name}: {reason}")
    if not eligible:
        return Choice(None, (*lines, "nobody eligible: the ticket waits"))
    ranked = sorted(eligible, key=_ranking(spec.policy, need, now))
    winner = ranked[0]
    lines.append(_why(spec, need, winner, ranked[1:], now))
    return Choice(winner.name, tuple(lines))


SortKey = tuple[bool, float, float, float, str]


def _ranking(policy: AssignPolicy, need: Need, now: datetime) -> Callable[[Candidate], SortKey]:
    """Smallest key first. With skills preferred the skilled rank first; then the policy's
    own order; names break the last ties so a choice never depends on input order."""

    def since(moment: datetime | None, never: float) -> float:
        return never if moment is None else (now - moment).total_seconds()

    def key(c: Candidate) -> SortKey:
        unskilled = not need.skills <= c.skills
        offered = -since(c.last_offered_at, math.inf)  # longer ago (or never) first
        idle = -since(c.idle_since, 0.0)  # idle longer first; holding tickets: not idle
        if policy is AssignPolicy.ROUND_ROBIN:
            return (unskilled, offered, 0.0, 0.0, c.name)
        if policy is AssignPolicy.LEAST_LOADED:
            return (unskilled, c.load / c.capacity, idle, offered, c.name)
        return (unskilled, idle, offered, 0.0, c.name)

    return key


def _why(
    spec: AssignSpec, need: Need, winner: Candidate, rest: list[Candidate], now: datetime
) -> str:
    line = f"chosen {winner.name} by {spec.policy}: {_standing(spec.policy, need, winner, now)}"
    if rest:
        line += f"; next {rest[0].name}: {_standing(spec.policy, need, rest[0], now)}"
    if need.skills and not need.skills <= winner.skills:
        line += f" (no eligible agent holds {', '.join(sorted(need.skills))}: skills are preferred)"
    return line


def _standing(policy: AssignPolicy, need: Need, c: Candidate, now: datetime) -> str:
    """What the policy looked at, for one candidate."""
    if policy is AssignPolicy.LEAST_LOADED:
        return f"{c.load} of {c.capacity} on {need.channel}"
    if policy is AssignPolicy.LONGEST_IDLE:
        return "holding tickets" if c.idle_since is None else f"idle {_ago(now, c.idle_since)}"
    return (
        "never offered" if c.last_offered_at is None else f"offered {_ago(now, c.last_offered_at)}"
    )


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    return f"{seconds // 60} min ago"


def compact(explanation: tuple[str, ...], names_per_line: int = 8) -> tuple[str, ...]:
    """The explanation with the candidates passed over for one reason on one line ("offline:
    ann, bob, +3 more"), in the order the reasons first appear; other lines as they are.
    With a hundred agents, this is what a person reads on the record."""
    by_reason: dict[str, list[str]] = {}
    rest: list[str] = []
    for line in explanation:
        name, sep, reason = line.partition(": ")
        if sep and not name.startswith(("chosen ", "nobody ", "queue ")) and " " not in name:
            by_reason.setdefault(reason, []).append(name)
        else:
            rest.append(line)
    grouped = []
    for reason, names in by_reason.items():
        shown = ", ".join(names[:names_per_line])
        more = len(names) - names_per_line
        grouped.append(f"{reason}: {shown}" + (f", +{more} more" if more > 0 else ""))
    return (*grouped, *rest)
