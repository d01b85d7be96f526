"""What an email reply continues: the customer's newest address and the conversation's
Message-IDs, theirs and our replies that went out (pure, from the ticket's messages)."""

from __future__ import annotations

from typing import Any

import pytest

from channels.email.sender import Thread, reply_thread
from core.model import Direction, Message, Priority, Route, Status, Ticket
from tests.support import T0

IN, OUT = Direction.INBOUND, Direction.OUTBOUND
ADA = "email:ada@example.com"


def message(n: int, direction: Direction, channel: str, external_id: str, **fields: Any) -> Message:
    return Message(n, 1, direction, channel, "text", T0, external_id=external_id, **fields)


def ticket(channel: str, *messages: Message) -> Ticket:
    return Ticket(
        1, Status.OPEN, channel, "general", Priority.NORMAL, 1, "Refund", T0, T0,
        Route(None, ()), messages=messages,
    )  # fmt: skip


FORM = message(1, IN, "form", "<w1@shop.example>", sender=ADA)  # a form's id is no Message-ID
REPLY_1 = message(2, OUT, "email", "<r1@hub>", delivery="sent")
FAILED = message(3, OUT, "email", "<r2@hub>", delivery="failed")
ACK = message(4, OUT, "email", "<ack@hub>", delivery="sent", meta={"automatic": "acknowledgement"})
REPLY_3 = message(5, OUT, "email", "<r3@hub>", delivery="sent")
CUSTOMER = message(6, IN, "email", "<c1@example.com>", sender=ADA, recipient="support@hub")


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ((FORM,), Thread("ada@example.com", "", "", ())),
        ((FORM, ACK, REPLY_1), Thread("ada@example.com", "", "<r1@hub>", ("<r1@hub>",))),
        ((FORM, REPLY_1, FAILED, REPLY_3),
         Thread("ada@example.com", "", "<r3@hub>", ("<r1@hub>", "<r3@hub>"))),
        ((FORM, REPLY_1, CUSTOMER, REPLY_3),
         Thread("ada@example.com", "support@hub", "<c1@example.com>",
                ("<r1@hub>", "<c1@example.com>", "<r3@hub>"))),
    ],
    ids=["first-reply-starts", "after-a-reply", "failed-left-out", "customer-answered"],
)  # fmt: skip
def test_a_reply_continues_the_conversation_the_customer_saw(
    messages: tuple[Message, ...], expected: Thread
) -> None:
    assert reply_thread(ticket("form", *messages)) == expected


def test_a_ticket_without_an_email_from_the_customer_has_nobody_to_write_to() -> None:
    sms = message(1, IN, "sms", "SM1", sender="phone:+15552010042")
    assert reply_thread(ticket("sms", sms)).customer == ""
