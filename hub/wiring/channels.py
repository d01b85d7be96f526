"""Which channels run: a channel is on when its settings section is present.

`enabled_channels` pairs each channel with the sink it hands its contacts to (the ingest
pipeline, whose steps after the commit are in hub/wiring/after_commit.py); `enabled_senders`
is the table of reply senders by channel name that `POST /api/tickets/{id}/reply` uses (a
channel absent from it cannot reply).
"""

from __future__ import annotations

from channels.base import Channel, Sender, Sink
from channels.webform import WebformChannel
from hub.settings.tree import Settings
from hub.wiring.email import email_channels, email_sender
from hub.wiring.services import Services
from hub.wiring.slack import slack_channels, slack_sender
from hub.wiring.twilio import sms_sender, twilio_channels


def enabled_channels(settings: Settings, services: Services) -> list[tuple[Channel, Sink]]:
    channels: list[tuple[Channel, Sink]] = []
    form = settings.channels.webform
    if form is not None:
        webform = WebformChannel(
            secret=form.secret.get_secret_value().encode(),
            max_body_bytes=settings.server.max_body_bytes,
            default_region=settings.routing.default_region,
            max_field_chars=form.max_field_chars,
        )
        channels.append((webform, services.ingest))
    channels += twilio_channels(settings, services)
    channels += slack_channels(settings, services.store, services.ingest, services.dropped)
    channels += email_channels(settings, services.store, services.ingest)
    if services.acknowledger is not None:  # a channel only for its lifetime: it has no routes
        channels.append((services.acknowledger, services.ingest))
    return channels


def enabled_senders(settings: Settings) -> dict[str, Sender]:
    """Reply senders by channel name."""
    senders: dict[str, Sender] = {}
    sms = sms_sender(settings)
    if sms is not None:
        senders[sms.name] = sms
    email = email_sender(settings)
    if email is not None:
        senders[email.name] = email
    slack = slack_sender(settings)
    if slack is not None:
        senders[slack.name] = slack
    return senders
