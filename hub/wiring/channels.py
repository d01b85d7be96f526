"""Which channels run: a channel is on when its settings section is present.

`enabled_channels` pairs each channel with the sink it hands its contacts to (the ingest
pipeline, whose steps after the commit are in hub/wiring/after_commit.py);
`enabled_senders` is the table of reply senders by channel name that
`POST /api/tickets/{id}/reply` uses (a channel absent from it cannot reply).
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import Channel, Sender, Sink
from channels.twilio.sms import SmsChannel
from channels.twilio.sms_sender import TwilioSmsSender
from channels.twilio.twiml import Ivr
from channels.twilio.voice import VoiceChannel
from channels.twilio.webhook import TwilioSignature
from channels.webform import WebformChannel
from core.model import ThreadPolicy
from hub.ingest import Ingest
from hub.metrics import Metrics
from hub.rules.routing import Routing
from hub.settings.tree import Settings, TwilioSettings, TwilioVoiceSettings
from hub.wiring.calls import CallDesk
from hub.wiring.email import Acknowledger, email_channels, email_sender
from hub.wiring.quarantine import Quarantine
from hub.wiring.slack import slack_channels, slack_sender
from storage.base import Store


@dataclass(frozen=True, slots=True)
class Services:
    """What the hub hands its channels (channels import neither storage nor routing)."""

    store: Store
    routing: Routing
    ingest: Ingest
    metrics: Metrics
    policy: ThreadPolicy
    acknowledger: Acknowledger | None = None  # a step of the ingest that needs a lifetime


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
    twilio = settings.channels.twilio
    if twilio is not None:
        channels += _twilio_channels(settings, twilio, services)
    channels += slack_channels(settings, services.store, services.ingest)
    channels += email_channels(settings, services.store, services.ingest, services.acknowledger)
    return channels


def _twilio_channels(
    settings: Settings, twilio: TwilioSettings, services: Services
) -> list[tuple[Channel, Sink]]:
    public_url = settings.server.public_url
    signature = TwilioSignature(twilio.auth_token.get_secret_value(), public_url)
    quarantine: Quarantine | None = None
    if twilio.on_bad_signature == "quarantine":
        quarantine = Quarantine(services.store, services.policy, services.metrics)
    limit, region = settings.server.max_body_bytes, settings.routing.default_region
    sms = SmsChannel(
        signature,
        consent=services.store,
        deliveries=services.store,
        max_body_bytes=limit,
        acknowledgement=twilio.acknowledgement,
        help_text=twilio.help_text,
        quarantine=quarantine,
        default_region=region,
    )
    desk = CallDesk(services.store, services.routing)
    voice = VoiceChannel(
        signature,
        desk.placement,
        max_body_bytes=limit,
        ivr=ivr(twilio.voice, public_url),
        quarantine=quarantine,
        default_region=region,
    )
    return [(sms, services.ingest), (voice, services.ingest)]


def ivr(voice: TwilioVoiceSettings, public_url: str | None) -> Ivr:
    texts = {key: value for key, value in voice.model_dump().items() if value is not None}
    return Ivr(**texts, public_url=public_url)


def enabled_senders(settings: Settings) -> dict[str, Sender]:
    """Reply senders by channel name."""
    senders: dict[str, Sender] = {}
    twilio = settings.channels.twilio
    if twilio is not None:
        public_url = settings.server.public_url
        callback = f"{public_url.rstrip('/')}/webhooks/twilio/sms/status" if public_url else None
        senders[SmsChannel.name] = TwilioSmsSender(
            twilio.account_sid,
            twilio.auth_token.get_secret_value(),
            twilio.api_base,
            status_callback=callback,
            attempts=twilio.send_attempts,
            backoff=twilio.send_backoff.total_seconds(),
            timeout=twilio.send_timeout.total_seconds(),
        )
    email = email_sender(settings)
    if email is not None:
        senders[email.name] = email
    slack = slack_sender(settings)
    if slack is not None:
        senders[slack.name] = slack
    return senders
