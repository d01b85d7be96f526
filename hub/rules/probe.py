"""A contact made up by a supervisor, to see where the rules would send it.

`contacthub rules test` and `POST /api/rules/test` build the same Inbound a channel would:
the sender becomes an email, phone (E.164) or Slack identity by its shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.errors import PayloadError
from core.identity import email_identity, phone_identity
from core.model import Attachment, CustomerFacts, Identity, Inbound
from core.people import CHANNELS
from router.conditions import EVENTS

_PROBE_ATTACHMENT = Attachment("attachment", "application/octet-stream")


def sender_identity(sender: str, region: str = "US") -> Identity:
    if "@" in sender:
        return email_identity(sender)
    try:
        return phone_identity(sender, region)
    except PayloadError:
        return Identity("slack", sender.strip())


def probe_contact(  # noqa: PLR0913  # one argument per field a supervisor may set
    *,
    channel: str,
    sender: str = "",
    to: str = "",
    subject: str = "",
    text: str = "",
    event: str = "message",
    at: datetime | None = None,
    has_attachment: bool = False,
    region: str = "US",
) -> Inbound:
    # A channel or event no contact has would match no rule on it, and look like a finding.
    if channel not in CHANNELS:
        raise PayloadError(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")
    if event not in EVENTS:
        raise PayloadError(f"unknown event {event!r}; events are {', '.join(EVENTS)}")
    return Inbound(
        channel=channel,
        external_id="probe",
        sender=sender_identity(sender, region) if sender else Identity("unknown", ""),
        text=text,
        received_at=at or datetime.now(UTC),
        event=event,
        recipient=to,
        subject=subject,
        attachments=(_PROBE_ATTACHMENT,) if has_attachment else (),
    )


def probe_facts(
    tags: tuple[str, ...] = (), *, is_new: bool = True, open_tickets: int = 0
) -> CustomerFacts:
    """Facts of a made-up customer (a returning one gets a placeholder id)."""
    return CustomerFacts(None if is_new else 0, tags, open_tickets)
