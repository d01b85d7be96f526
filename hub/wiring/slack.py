"""Wiring of the Slack channel: its webhook (with the store for edits) and its reply sender."""

from __future__ import annotations

from pydantic import SecretStr

from channels.base import Channel, DropReport, Sender, Sink
from channels.slack.channel import SlackChannel
from channels.slack.events import Scope
from channels.slack.sender import SlackSender
from hub.ingest import Ingest
from hub.settings.tree import Settings
from storage.base import Store


def slack_channels(
    settings: Settings, store: Store, ingest: Ingest, dropped: DropReport
) -> list[tuple[Channel, Sink]]:
    slack = settings.channels.slack
    if slack is None:
        return []
    channel = SlackChannel(
        signing_secret=_secret(slack.signing_secret),
        bot_token=slack.bot_token.get_secret_value(),
        edits=store,
        api_base=slack.api_base,
        scope=Scope(frozenset(slack.support_channels), slack.direct_messages),
        max_body_bytes=settings.server.max_body_bytes,
        user_cache_ttl=slack.user_cache_ttl.total_seconds(),
        lookup_timeout=slack.lookup_timeout.total_seconds(),
        app_token=_secret(slack.app_token) if slack.mode == "socket" else None,
        dropped=dropped,
    )
    return [(channel, ingest)]


def _secret(value: SecretStr | None) -> str:
    return "" if value is None else value.get_secret_value()


def slack_sender(settings: Settings) -> Sender | None:
    slack = settings.channels.slack
    if slack is None:
        return None
    return SlackSender(
        slack.bot_token.get_secret_value(),
        slack.api_base,
        attempts=slack.send_attempts,
        backoff=slack.send_backoff.total_seconds(),
        timeout=slack.send_timeout.total_seconds(),
    )
