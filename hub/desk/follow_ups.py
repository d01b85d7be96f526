"""Follow-ups: writing again to the customer of a closed ticket, on a new ticket.

A closed ticket is final and takes no reply; an agent who must write to its customer again
opens a follow-up (as Zendesk's): a new ticket of the same customer, channel, queue and
subject, theirs and open at once (Store.open_follow_up), whose first message is the agent's,
sent where a reply on the closed conversation would go and threaded onto it (an email's
In-Reply-To and References, the number the customer wrote to), as are its next ones until
the customer answers (replies.py `conversation_of`). The customer's answer comes
back to the follow-up: by our Message-ID for an email, to the customer's live SMS ticket for
a text. Slack and chat conversations are not followed up yet (an answer in a Slack thread
would find the closed ticket's thread, not the follow-up). Everything that would refuse the
message is checked before the ticket is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from channels.base import Sender
from core.errors import Conflict, NotFinal, NotFound
from core.model import Message, Ticket
from core.workflow import is_final
from hub.desk.replies import ANY_BODY, ReplyWay, reach, send_reply
from hub.rules.routing import RulesRouter
from storage.base import Store

FOLLOWED = ("email", "sms", "form")
"""Channels whose customer's answer comes back to the follow-up."""


@dataclass(frozen=True, slots=True)
class FollowUp:
    ticket: Ticket
    message: Message


async def follow_up_way(store: Store, senders: Mapping[str, Sender], closed: Ticket) -> ReplyWay:
    """Where a follow-up of the ticket would go now, or why none can (the agent's page)."""
    try:
        route, recipient = await _checked(store, senders, closed, ANY_BODY)
    except (Conflict, NotFound) as exc:  # as reply_way: the ticket's reading goes on
        return ReplyWay(refused=exc.message)
    return ReplyWay(route, recipient)


async def follow_up(
    store: Store,
    senders: Mapping[str, Sender],
    closed_id: int,
    body: str,
    author: str,
    router: RulesRouter | None,
) -> FollowUp:
    """The new ticket, the author's, with `body` sent as its first message."""
    closed = await store.get_ticket(closed_id)
    await _checked(store, senders, closed, body)
    ticket = await store.open_follow_up(closed.id, author, datetime.now(UTC))
    message = await send_reply(store, senders, ticket.id, body, author, router)
    return FollowUp(await store.get_ticket(ticket.id), message)


async def _checked(
    store: Store, senders: Mapping[str, Sender], closed: Ticket, body: str
) -> tuple[str, str]:
    if not is_final(closed.status):
        raise NotFinal(closed.id, closed.status)
    if closed.channel not in FOLLOWED:
        raise Conflict(
            f"a {closed.channel} conversation is not followed up (the customer's answer would "
            f"not come back to it); follow-ups go on {', '.join(FOLLOWED)} tickets"
        )
    route, recipient = await reach(store, senders, closed, body)
    return route.sender.name, recipient.value
