"""Building rules files and contacts for the router tests."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from core.model import Attachment, CustomerFacts, Identity, Inbound
from router.engine import Ruleset, load_ruleset

# A Monday, 15:00 UTC = 10:00 in New York: inside the `office` calendar.
MONDAY_OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# The same Monday, 03:00 UTC = Sunday 22:00 in New York: outside it.
MONDAY_CLOSED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

HEADER = """\
calendars:
  office: {timezone: America/New_York, weekly: {mon-fri: "08:00-18:00"}}
queues:
  general: {}
  billing: {kind: inbound, tier: 1, sla: {first_response: 4h, resolution: 2d}}
  escalated: {tier: 2}
default: {queue: general}
rules:
"""
"""Eight lines: a rule list appended to it starts on line 9."""


def rules_file(rules: str, header: str = HEADER) -> str:
    return header + textwrap.dedent(rules)


def ruleset(rules: str, header: str = HEADER) -> Ruleset:
    return load_ruleset(rules_file(rules, header), "rules.yaml")


def contact(
    text: str = "hello",
    *,
    channel: str = "email",
    event: str = "message",
    sender: str = "ada@example.com",
    recipient: str = "support@example.com",
    subject: str = "",
    at: datetime = MONDAY_OPEN,
    attachments: int = 0,
) -> Inbound:
    kind = "phone" if sender.startswith("+") else "email"
    return Inbound(
        channel=channel,
        external_id="ext-1",
        sender=Identity(kind, sender),
        text=text,
        received_at=at,
        event=event,
        recipient=recipient,
        subject=subject,
        attachments=tuple(Attachment(f"f{i}.pdf", "application/pdf") for i in range(attachments)),
    )


def customer(*tags: str, known: bool = True, open_tickets: int = 0) -> CustomerFacts:
    return CustomerFacts(7 if known else None, tags=tags, open_tickets=open_tickets)
