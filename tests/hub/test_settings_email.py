"""Email settings: validated at start, every problem with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigError
from hub.settings.tree import parse_settings


def problems(raw: dict[str, Any], tmp_path: Path) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, {"IMAP_PASSWORD": "secret"}, base=tmp_path)
    return caught.value.problems


def test_email_sections_with_defaults(tmp_path: Path) -> None:
    raw = {
        "storage": {"blob_dir": "/var/lib/contacthub/blobs"},
        "channels": {
            "smtp": {"mailboxes": ["support@example.com"]},
            "imap": [{"host": "imap.example.com", "username": "s@example.com",
                      "password": "env:IMAP_PASSWORD"}],
        },
        "outbound": {"smtp": {"host": "relay.example.com"}},
    }  # fmt: skip
    settings = parse_settings(raw, {"IMAP_PASSWORD": "secret"}, base=tmp_path)
    smtp, (imap,) = settings.channels.smtp, settings.channels.imap
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.max_recipients) == ("127.0.0.1", 2525, 50)
    assert (imap.port, imap.tls, imap.folder, imap.idle) == (993, True, "INBOX", True)
    assert imap.password is not None
    assert "secret" not in repr(imap)
    assert settings.outbound.smtp is not None
    assert settings.outbound.smtp.acknowledge is True
    assert str(settings.storage.blob_dir) == "/var/lib/contacthub/blobs"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"channels": {"smtp": {}}}, "channels.smtp: Value error, set mailboxes or domains"),
        (
            {"channels": {"smtp": {"domains": ["x.example"], "tls_cert": "c.pem"}}},
            "channels.smtp: Value error, tls_cert and tls_key go together",
        ),
        (
            {"channels": {"imap": [{"host": "h", "username": "u"}]}},
            "channels.imap.0: Value error, set exactly one of password and oauth2_token",
        ),
        (
            {"outbound": {"smtp": {"acknowledgement": "ticket {number}"}}},
            "outbound.smtp.acknowledgement: Value error, may hold only the placeholder {ticket}",
        ),
        (
            {"channels": {"smtp": {"domains": ["x"], "relay": True}}},
            "channels.smtp.relay: unknown key",
        ),
    ],
    ids=["nobody", "half-tls", "no-login", "bad-placeholder", "unknown-key"],
)
def test_invalid_email_settings_name_the_key(
    raw: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    assert any(problem.startswith(expected) for problem in problems(raw, tmp_path))
