"""`[channels.webchat]`: validated at start, the secret from the environment, limits named."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.settings.tree import parse_settings

ENV = {"CHAT_SECRET": "c" * 32}


def test_the_chat_section_with_its_secret_from_the_environment(tmp_path: Path) -> None:
    raw = {"channels": {"webchat": {"secret": "env:CHAT_SECRET",
                                    "allowed_origins": ["https://www.example.com"]}}}  # fmt: skip
    chat = parse_settings(raw, ENV, base=tmp_path).channels.webchat
    assert chat is not None
    assert chat.secret is not None
    assert chat.secret.get_secret_value() == "c" * 32
    assert "ccc" not in repr(chat)
    assert (chat.max_frame_bytes, chat.messages_per_minute, chat.sockets_per_ip) == (16384, 20, 20)


def test_no_section_no_chat(tmp_path: Path) -> None:
    assert parse_settings({}, {}, base=tmp_path).channels.webchat is None


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"require_identity": True}, "channels.webchat"),
        ({"secret": "short"}, "channels.webchat.secret"),
        ({"allowed_origins": ["https://ok.example/path"]}, "channels.webchat.allowed_origins.0"),
        ({"max_frame_bytes": 10}, "channels.webchat.max_frame_bytes"),
        ({"messages_per_minute": 0}, "channels.webchat.messages_per_minute"),
        ({"sockets": 3}, "channels.webchat.sockets"),
    ],
    ids=["identity-without-secret", "short-secret", "origin-with-path", "tiny-frames",
         "no-messages", "unknown-key"],
)  # fmt: skip
def test_every_chat_problem_names_its_key(
    tmp_path: Path, section: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"channels": {"webchat": section}}, {}, base=tmp_path)
    assert any(p.startswith(f"{key}:") for p in caught.value.problems), caught.value.problems
