"""Which channel a reply goes out on: a pure choice, made before anything is stored.

A ticket is answered on its own channel when that channel has a sender. A channel that
cannot carry a reply (a web form; later the web chat when the visitor has left) names the
channels that answer its tickets instead, in order of preference, and each of them is
chosen only when it is configured and the customer can be reached on it: a form ticket
goes by email when the customer gave an address, else by SMS to the phone they gave. The
choice names the identity the reply goes to, so the sender need not find the customer in a
conversation on its own channel. Anything else is a Conflict (409) that says what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from channels.base import Sender
from channels.email.mime import NAME as EMAIL_CHANNEL
from channels.twilio.sms import NAME as SMS_CHANNEL
from channels.webform import NAME as FORM_CHANNEL
from core.errors import Conflict
from core.identity import EMAIL, PHONE
from core.model import Customer, Direction, Identity, Ticket

FALLBACKS: Mapping[str, tuple[str, ...]] = {FORM_CHANNEL: (EMAIL_CHANNEL, SMS_CHANNEL)}
"""Channels without a way back to the customer -> the channels that answer their tickets."""

REACHES: Mapping[str, str] = {EMAIL_CHANNEL: EMAIL, SMS_CHANNEL: PHONE}
"""The kind of identity each answering channel delivers to."""

_SETTING = {EMAIL_CHANNEL: "[outbound.smtp]", SMS_CHANNEL: "[channels.twilio]"}


@dataclass(frozen=True, slots=True)
class DeliveryChannel:
    """The sender of a reply, and whom it goes to: None for the customer of the ticket's own
    conversation on the sender's channel."""

    sender: Sender
    to: Identity | None = None


def delivery_channel(
    channel: str, identities: Iterable[Identity], senders: Mapping[str, Sender]
) -> DeliveryChannel:
    """How a reply on a ticket of `channel` goes out, to a customer reachable at
    `identities` (in order of preference), among the configured `senders` by channel name."""
    own = senders.get(channel)
    if own is not None:
        return DeliveryChannel(own)
    known: dict[str, Identity] = {}
    for identity in identities:
        known.setdefault(identity.kind, identity)
    reachable = [name for name in FALLBACKS.get(channel, ()) if REACHES[name] in known]
    for name in reachable:
        if name in senders:
            return DeliveryChannel(senders[name], known[REACHES[name]])
    raise Conflict(_unanswerable(channel, reachable))


def customer_identities(ticket: Ticket, customer: Customer) -> list[Identity]:
    """Where the customer can be reached, in order of preference: who wrote on the ticket,
    newest first, then the customer's other identities (a form's phone beside its email)."""
    found: dict[Identity, None] = {}
    for message in reversed(ticket.messages):
        kind, _, value = message.sender.partition(":")
        if message.direction is Direction.INBOUND and value:
            found.setdefault(Identity(kind, value))
    for identity in customer.identities:
        found.setdefault(identity)
    return list(found)


def _unanswerable(channel: str, reachable: list[str]) -> str:
    prefix = f"replies on the {channel} channel cannot be sent"
    fallbacks = FALLBACKS.get(channel)
    if not fallbacks:
        return f"{prefix}: no sender is configured"
    if not reachable:
        kinds = " or ".join(REACHES[name] for name in fallbacks)
        return f"{prefix}: the customer left no {kinds} to answer on"
    missing = " or ".join(f"{name} ({_SETTING[name]})" for name in reachable)
    verdict = ", which is not configured" if len(reachable) == 1 else "; none is configured"
    return f"{prefix}: the customer can be answered by {missing}{verdict}"
