"""A ticket's record: the append-only log of everything that happened to it.

Every change to a ticket is written as a `TicketEvent` in the same atomic commit as the change
itself, so the record is the single source of truth for "what happened": the ticket's history
(`GET /api/tickets/{id}/events`), the live event stream and the reports all read it. Events
carry one global sequence number (`seq`), increasing across every ticket of a hub, so a
reader can resume after any event it has seen and miss nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

Detail = str | int | bool | None | tuple[str, ...]


class EventKind(StrEnum):
    CREATED = "created"  # the ticket, with its route (queue, priority, rule)
    MESSAGE_IN = "message_in"  # a customer's message threaded onto the ticket
    MESSAGE_EDITED = "message_edited"  # the customer edited it (Slack)
    MESSAGE_DELETED = "message_deleted"  # the customer deleted it (the text is kept)
    REPLY_OUT = "reply_out"  # an agent's reply, stored before it is sent
    DELIVERY = "delivery"  # what the provider said of an outbound message
    ACKNOWLEDGED = "acknowledged"  # an automatic message to the customer (ack, HELP text)
    NOTE = "note"  # an internal note, never sent
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    STATUS = "status"
    QUEUE = "queue"
    PRIORITY = "priority"
    TAGS = "tags"
    ESCALATED = "escalated"
    TRANSFERRED = "transferred"
    CUSTOMER_MERGED = "customer_merged"  # the ticket moved with its customer to another
    CUSTOMER_UNMERGED = "customer_unmerged"  # the merge was undone: the ticket went back
    OFFERED = "offered"
    OFFER_REJECTED = "offer_rejected"
    OFFER_TIMED_OUT = "offer_timed_out"
    OFFER_WITHDRAWN = "offer_withdrawn"  # its agent left (away, offline) before answering
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    PURGED = "purged"  # retention removed the ticket; its record stays (core/retention.py)
    CUSTOMER_ERASED = "customer_erased"  # the customer was erased; personal data gone


class ActorKind(StrEnum):
    AGENT = "agent"  # a person, by name
    RULE = "rule"  # the routing rules, by rule name
    CLOCK = "clock"  # the SLA clock, offer timers
    CUSTOMER = "customer"  # by customer id
    SYSTEM = "system"  # the hub itself (acknowledgements, deliveries)


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else str(self.kind)

    @classmethod
    def parse(cls, text: str) -> Actor:
        kind, _, name = text.partition(":")
        return cls(ActorKind(kind), name)

    @classmethod
    def agent(cls, name: str) -> Actor:
        return cls(ActorKind.AGENT, name)

    @classmethod
    def customer(cls, customer_id: int) -> Actor:
        return cls(ActorKind.CUSTOMER, str(customer_id))

    @classmethod
    def by_rule(cls, rule: str | None) -> Actor:
        """The rule that routed a ticket; the system when the default did."""
        return SYSTEM if rule is None else cls(ActorKind.RULE, rule)


SYSTEM = Actor(ActorKind.SYSTEM)
CLOCK = Actor(ActorKind.CLOCK)


@dataclass(frozen=True, slots=True)
class TicketEvent:
    seq: int
    ticket_id: int
    kind: EventKind
    actor: Actor
    at: datetime
    detail: Mapping[str, Detail] = field(default_factory=dict)
    """What happened, by kind (lists are tuples):

    created            {"queue", "priority", "rule"}  (rule None: the default routed it)
    message_in         {"message_id", "channel"}
    message_edited,    {"message_id"}
    message_deleted
    reply_out          {"message_id"}  (an agent's reply)
    acknowledged       {"message_id", "automatic"}  (why: "acknowledgement", "help"; the
                       system's, never a reply_out: it is no response and moves nothing)
    delivery           {"message_id", "status"} and "error" when it failed
    note               {"body"}
    status, priority,  {"from", "to"}  (assignee None: nobody; tags: tuples)
    queue, tags,
    assigned, unassigned
    transferred        {"note"}    followed, in the same commit, by the fields' events
    escalated          {"reason"}  followed, in the same commit, by the fields' events
    offered            {"offer_id", "agent", "deadline", "explanation"}  (the policy's
                       choice: every candidate passed over and why the agent won; the rule's)
    offer_rejected,    {"offer_id", "agent"}  (the agent's; a timed-out agent goes away, the
    offer_timed_out,   clock's; a withdrawn offer's agent went away or offline)
    offer_withdrawn
    assigned           {"from", "to"} and, from an accepted offer, "offer_id" and
                       "explanation"
    sla_warning,       {"metric", "key", "due", "queue"}  (the SLA clock's: key names the
    sla_breach         clock's instance, its start; a breach's on_breach changes follow)
    customer_merged,   {"merge_id", "from", "to"}  (customer ids; the agent who merged or
    customer_unmerged  unmerged; one event on each ticket the merge moved, in its commit)
    purged             {"messages", "attachments"}  (the system's: retention removed the
                       ticket; its record stays, and reads of the ticket are NotFound)
    customer_erased    {"customer_id", "messages"}  (the admin's: identities, texts and
                       attachments gone; free text of notes and reasons blanked)
    """
