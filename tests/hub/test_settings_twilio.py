"""The [channels.twilio] section: validated at start, secrets masked, IVR texts optional."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.settings.tree import parse_settings
from hub.wiring.twilio import ivr
from tests.twilio_support import ACCOUNT_SID

CONFIG = Path("config")


def test_twilio_section_with_an_env_token_is_masked() -> None:
    raw = {"channels": {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": "env:TOKEN"}}}
    settings = parse_settings(raw, {"TOKEN": "t" * 32}, base=CONFIG)
    twilio = settings.channels.twilio
    assert twilio is not None
    assert twilio.auth_token.get_secret_value() == "t" * 32
    assert "t" * 32 not in repr(settings)
    assert (twilio.on_bad_signature, twilio.api_base) == ("reject", "https://api.twilio.com")


def test_every_twilio_problem_is_reported_with_its_key() -> None:
    raw = {
        "server": {"public_url": "hub.example.com"},
        "channels": {
            "twilio": {
                "account_sid": "SK123",
                "auth_token": "short",
                "acknowledgement": "ticket {number}",
                "on_bad_signature": "ignore",
                "voice": {"dial": "555-0100", "max_voicemail_seconds": 600},
            }
        },
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, {}, base=CONFIG)
    keys = {problem.partition(":")[0] for problem in caught.value.problems}
    assert keys == {
        "server.public_url",
        "channels.twilio.account_sid",
        "channels.twilio.auth_token",
        "channels.twilio.acknowledgement",
        "channels.twilio.on_bad_signature",
        "channels.twilio.voice.dial",
        "channels.twilio.voice.max_voicemail_seconds",
    }


def test_unset_ivr_texts_keep_the_built_in_wording() -> None:
    raw = {
        "channels": {
            "twilio": {
                "account_sid": ACCOUNT_SID,
                "auth_token": "t" * 32,
                "voice": {"greeting": "Welcome to Acme.", "max_queue_size": 5},
            }
        }
    }
    twilio = parse_settings(raw, {}, base=CONFIG).channels.twilio
    assert twilio is not None
    built = ivr(twilio.voice, "https://hub.example.com")
    assert (built.greeting, built.max_queue_size) == ("Welcome to Acme.", 5)
    assert built.menu.startswith("Press 1")
    assert built.url("menu") == "https://hub.example.com/webhooks/twilio/voice/menu"
