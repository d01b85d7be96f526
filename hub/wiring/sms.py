"""SMS in the hub: what a customer's text asks of the hub after its commit, and what the
channel answers it.

STOP and its synonyms record the customer's opt-out, START and its synonyms the opt-in
(channels/twilio/sms.py tells the words). It is recorded on a retried webhook too: the store
keeps the newest word by the time it was said, so a retry changes nothing. The channel's
TwiML answer (acknowledgement, help text) stays in the channel: it is the provider's reply;
`AnswerRecording` keeps its text on the ticket just before, like every outbound message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from channels.twilio.sms import NAME as SMS
from channels.twilio.sms import Keyword, keyword
from core.model import SYSTEM, Inbound, IngestResult, Via
from storage.base import Store


@dataclass(frozen=True, slots=True)
class ConsentRecording:
    """After an SMS's commit: an opt-out or opt-in word is kept as the customer's choice."""

    store: Store

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        word = keyword(inbound.text) if inbound.channel == SMS else None
        if word is Keyword.OPT_OUT or word is Keyword.OPT_IN:
            opted_out = word is Keyword.OPT_OUT
            await self.store.set_sms_opt_out(inbound.sender.key, opted_out, inbound.received_at)


@dataclass(frozen=True, slots=True)
class AnswerRecording:
    """A text the SMS channel answers in TwiML is a message on the ticket: automatic (never
    a response, moving nothing of the ticket) and sent, since Twilio sends what the webhook
    answers. It runs after the commit, once the text is decided, before the answer."""

    store: Store

    async def __call__(self, result: IngestResult, text: str, why: str) -> None:
        via = Via(SMS, automatic=why, delivery="sent")
        await self.store.append_outbound(result.ticket_id, text, SYSTEM, datetime.now(UTC), via)
