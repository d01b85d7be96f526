"""The Twilio channels (SMS and voice, one signature check) and the SMS reply sender."""

from __future__ import annotations

from channels.base import Channel, Sink
from channels.twilio.sms import SmsChannel
from channels.twilio.sms_sender import TwilioSmsSender
from channels.twilio.twiml import Ivr
from channels.twilio.voice import VoiceChannel
from channels.twilio.webhook import TwilioSignature
from hub.settings.tree import Settings, TwilioVoiceSettings
from hub.wiring.calls import CallDesk
from hub.wiring.quarantine import Quarantine
from hub.wiring.services import Services
from hub.wiring.sms import AnswerRecording


def twilio_channels(settings: Settings, services: Services) -> list[tuple[Channel, Sink]]:
    twilio = settings.channels.twilio
    if twilio is None:
        return []
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
        answered=AnswerRecording(services.store),
        default_region=region,
        dropped=services.dropped,
    )
    desk = CallDesk(services.store, services.router)
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


def sms_sender(settings: Settings) -> TwilioSmsSender | None:
    twilio = settings.channels.twilio
    if twilio is None:
        return None
    public_url = settings.server.public_url
    callback = f"{public_url.rstrip('/')}/webhooks/twilio/sms/status" if public_url else None
    return TwilioSmsSender(
        twilio.account_sid,
        twilio.auth_token.get_secret_value(),
        twilio.api_base,
        status_callback=callback,
        from_number=twilio.from_number,
        attempts=twilio.send_attempts,
        backoff=twilio.send_backoff.total_seconds(),
        timeout=twilio.send_timeout.total_seconds(),
    )
