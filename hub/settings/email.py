"""Settings of the email channel: `[channels.smtp]`, `[[channels.imap]]`, `[outbound.smtp]`.

```toml
[channels.smtp]                 # the inbound listener an MX or relay delivers to
host = "127.0.0.1"
port = 2525
mailboxes = ["support@example.com"]
domains = []                    # or whole domains
[[channels.imap]]               # one table per mailbox polled
host = "imap.example.com"
username = "support@example.com"
password = "env:IMAP_PASSWORD"
[outbound.smtp]                 # the relay for replies and acknowledgements
host = "127.0.0.1"
port = 25
```
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from hub.settings.fields import Duration, Section

_MIB = 1024 * 1024


class MimeLimitSettings(Section):
    max_text_chars: int = Field(100_000, ge=1000)
    max_attachment_bytes: int = Field(10 * _MIB, ge=1024)  # larger parts are listed, not kept
    max_attachments_bytes: int = Field(25 * _MIB, ge=1024)  # per message


class SmtpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(2525, ge=0, le=65535)
    mailboxes: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    hostname: str | None = None  # the name in the greeting; default: the machine's FQDN
    max_message_bytes: int = Field(25 * _MIB, ge=1024)  # larger DATA: 552
    max_recipients: int = Field(50, ge=1, le=1000)
    tls_cert: Path | None = None  # both set: STARTTLS is offered
    tls_key: Path | None = None
    require_starttls: bool = False
    timeout: Duration = timedelta(minutes=5)
    limits: MimeLimitSettings = MimeLimitSettings()

    @model_validator(mode="after")
    def _accepts_someone(self) -> Self:
        if not self.mailboxes and not self.domains:
            raise ValueError("set mailboxes or domains: the listener accepts mail for nobody")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self


class ImapSettings(Section):
    host: str
    port: int = Field(993, ge=1, le=65535)
    tls: bool = True  # implicit TLS (imaps); false: plain, upgraded when `starttls`
    starttls: bool = False
    verify_tls: bool = True
    username: str
    password: SecretStr | None = None
    oauth2_token: SecretStr | None = None  # XOAUTH2 instead of the password
    address: str | None = None  # the support address this mailbox receives; default username
    folder: str = "INBOX"
    move_to: str | None = None  # after the commit; default: flag \\Seen
    idle: bool = True  # IDLE where the server has it, else polling
    poll_interval: Duration = timedelta(seconds=30)
    batch_size: int = Field(50, ge=1, le=1000)
    timeout: Duration = timedelta(seconds=30)
    max_backoff: Duration = timedelta(minutes=5)
    limits: MimeLimitSettings = MimeLimitSettings()

    @model_validator(mode="after")
    def _one_login(self) -> Self:
        if (self.password is None) == (self.oauth2_token is None):
            raise ValueError("set exactly one of password and oauth2_token")
        return self


class OutboundSmtpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False  # implicit TLS (port 465)
    starttls: bool = False
    timeout: Duration = timedelta(seconds=30)
    send_attempts: int = Field(3, ge=1, le=10)  # 4xx and connection failures are tried again
    send_backoff: Duration = timedelta(seconds=1)
    connections: int = Field(4, ge=1, le=100)  # sessions with the relay at once, kept open
    ca_file: Path | None = None  # CA certificates the relay's is checked by; default: system's
    from_address: str | None = None  # default: the mailbox the customer wrote to
    message_id_domain: str | None = None  # default: the From address's domain
    acknowledge: bool = True  # one mail per new ticket, never to automatic mail
    acknowledgement: str = (
        "Thank you for your message. Your ticket number is {ticket}; "
        "keep [#{ticket}] in the subject when you write about it again."
    )
    acknowledgements_per_address: int = Field(5, ge=1)
    acknowledgement_window: Duration = timedelta(hours=1)
    acknowledgement_backlog: int = Field(1000, ge=1)  # waiting for the relay; more: dropped

    @field_validator("acknowledgement")
    @classmethod
    def _ticket_placeholder_only(cls, text: str) -> str:
        try:
            text.format(ticket=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may hold only the placeholder {ticket}") from exc
        return text


class OutboundSettings(Section):
    smtp: OutboundSmtpSettings | None = None


def blob_dir_default() -> Path:
    return Path("contacthub-blobs")
