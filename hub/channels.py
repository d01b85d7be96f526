"""Which channels run: a channel is on when its section is present in the settings."""

from __future__ import annotations

from channels.base import Channel
from channels.webform import WebformChannel
from hub.settings import Settings


def enabled_channels(settings: Settings) -> list[Channel]:
    channels: list[Channel] = []
    form = settings.channels.webform
    if form is not None:
        channels.append(
            WebformChannel(
                secret=form.secret.get_secret_value().encode(),
                max_body_bytes=settings.server.max_body_bytes,
                default_region=settings.routing.default_region,
                max_field_chars=form.max_field_chars,
            )
        )
    return channels
