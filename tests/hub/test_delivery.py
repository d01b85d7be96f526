"""The delivery channel of a reply: the ticket's own when it has a sender, else a channel that
reaches the customer (a web form's ticket by email, else by SMS), else a 409 that says why."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from channels.base import Sender
from channels.email.sender import SmtpSender
from channels.slack.sender import SlackSender
from channels.twilio.sms_sender import TwilioSmsSender
from core.errors import Conflict
from core.model import Customer, Direction, Identity, Message, Priority, Route, Status, Ticket
from hub.desk.delivery import customer_identities, delivery_channel
from tests.support import T0

ADA_EMAIL = Identity("email", "ada@example.com")
ADA_PHONE = Identity("phone", "+15552010042")
OTHER_EMAIL = Identity("email", "ada@old.example")
EMAIL = SmtpSender()
SMS = TwilioSmsSender("AC" + "0" * 32, "token-" + "0" * 16)
SLACK = SlackSender("xoxb-test")


def senders(*names: str) -> Mapping[str, Sender]:
    every: dict[str, Sender] = {"email": EMAIL, "sms": SMS, "slack": SLACK}
    return {name: every[name] for name in names}


@pytest.mark.parametrize(
    ("channel", "identities", "configured", "chosen", "to"),
    [
        ("email", [ADA_EMAIL], ["email", "sms"], "email", None),
        ("sms", [ADA_PHONE], ["email", "sms"], "sms", None),
        ("form", [ADA_EMAIL], ["email", "sms"], "email", ADA_EMAIL),
        ("form", [ADA_EMAIL, ADA_PHONE], ["email", "sms"], "email", ADA_EMAIL),
        ("form", [ADA_PHONE, ADA_EMAIL], ["email", "sms"], "email", ADA_EMAIL),
        ("form", [ADA_PHONE], ["email", "sms"], "sms", ADA_PHONE),
        ("form", [ADA_EMAIL, ADA_PHONE], ["sms"], "sms", ADA_PHONE),
        ("form", [ADA_EMAIL, ADA_PHONE], ["email"], "email", ADA_EMAIL),
        ("form", [ADA_EMAIL, OTHER_EMAIL], ["email"], "email", ADA_EMAIL),
    ],
    ids=[
        "email-on-email", "sms-on-sms", "form-email", "form-both", "form-both-any-order",
        "form-phone-only", "form-both-only-sms", "form-both-only-email", "first-address-wins",
    ],
)  # fmt: skip
def test_the_reply_goes_out_on_the_ticket_channel_or_the_one_reaching_the_customer(
    channel: str,
    identities: list[Identity],
    configured: list[str],
    chosen: str,
    to: Identity | None,
) -> None:
    route = delivery_channel(channel, identities, senders(*configured))
    assert (route.sender.name, route.to) == (chosen, to)


@pytest.mark.parametrize(
    ("channel", "identities", "configured", "reason"),
    [
        ("form", [ADA_EMAIL], [], "answered by email ([outbound.smtp]), which is not configured"),
        ("form", [ADA_EMAIL], ["sms", "slack"], "by email ([outbound.smtp]), which is not"),
        ("form", [ADA_PHONE], ["email"], "by sms ([channels.twilio]), which is not configured"),
        ("form", [ADA_EMAIL, ADA_PHONE], [], "sms ([channels.twilio]); none is configured"),
        ("form", [Identity("slack", "U1")], ["email", "sms"], "left no email or phone"),
        ("slack", [Identity("slack", "U1")], ["email", "sms"], ": no sender is configured"),
        ("voice", [ADA_PHONE], ["email", "sms"], ": no sender is configured"),
    ],
    ids=[
        "form-email-nothing", "form-email-no-relay", "form-phone-no-twilio", "form-both-nothing",
        "form-unreachable", "slack-no-sender", "voice-never-falls-back",
    ],
)  # fmt: skip
def test_a_ticket_nobody_can_answer_is_a_conflict_that_says_why(
    channel: str, identities: list[Identity], configured: list[str], reason: str
) -> None:
    with pytest.raises(Conflict) as refused:
        delivery_channel(channel, identities, senders(*configured))
    message = refused.value.message
    assert message.startswith(f"replies on the {channel} channel cannot be sent")
    assert reason in message


def test_the_customer_is_reached_first_where_they_wrote_on_the_ticket_newest_first() -> None:
    def message(n: int, direction: Direction, sender: str) -> Message:
        return Message(n, 1, direction, "form", "hi", T0, sender=sender)

    ticket = Ticket(
        1, Status.NEW, "form", "general", Priority.NORMAL, 1, "", T0, T0, Route(None, ()),
        messages=(
            message(1, Direction.INBOUND, "email:ada@example.com"),
            message(2, Direction.OUTBOUND, ""),
            message(3, Direction.INBOUND, "phone:+15552010042"),
            message(4, Direction.INBOUND, "email:ada@example.com"),
        ),
    )  # fmt: skip
    customer = Customer(1, "Ada", T0, (OTHER_EMAIL, ADA_EMAIL, Identity("slack", "U1")))
    assert customer_identities(ticket, customer) == [
        ADA_EMAIL, ADA_PHONE, OTHER_EMAIL, Identity("slack", "U1"),
    ]  # fmt: skip
