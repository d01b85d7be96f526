"""contacthub.toml -> one frozen, validated settings tree.

`load_settings(path, environ)` takes the environment as an argument, so tests never patch
`os.environ`. Any string of the form ``env:NAME`` is replaced by that variable before
validation; secrets are `SecretStr` and never show in a repr or a log. Every problem is
reported at once, each with its key path. No file at all means the embedded default:
SQLite in ./contacthub.db, HTTP on 127.0.0.1:8080, every contact to queue `general`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from core.errors import ConfigError
from core.model import ThreadPolicy
from hub.settings.campaigns import CampaignSettings
from hub.settings.email import ImapSettings, OutboundSettings, SmtpSettings, blob_dir_default
from hub.settings.fields import MAX_FILE_BYTES, Duration, FileTimeout, Section
from hub.settings.retention import RetentionSettings
from hub.settings.slack import SlackSettings
from hub.settings.webchat import WebchatSettings


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    max_body_bytes: int = Field(1_048_576, ge=1024)
    workers: int | None = Field(None, ge=1, le=64)  # `serve` processes; None: one per core
    reuse_port: bool = False  # SO_REUSEPORT on the HTTP and SMTP ports (several workers)


class StorageSettings(Section):
    url: str = "sqlite:///./contacthub.db"
    blob_dir: Path = Field(default_factory=blob_dir_default)  # email attachments, by sha256


class RoutingSettings(Section):
    rules: Path | None = None
    default_region: str = Field("US", min_length=2, max_length=2)
    watch_interval: Duration = timedelta(seconds=2)  # rules file and other hubs' versions
    max_explanation_lines: int = Field(50, ge=2, le=10_000)  # kept per ticket


def _default_windows() -> dict[str, timedelta]:
    day = timedelta(hours=24)
    return {
        "sms": day,
        "voice": day,
        "form": timedelta(0),
        "email": timedelta(0),
        "slack": timedelta(0),  # Slack threads and DM conversations thread explicitly
        "chat": timedelta(0),  # a visitor's conversation threads by its own key
    }


class ThreadingSettings(Section):
    """How long a customer's next message on a channel joins their live ticket."""

    reopen_window: dict[str, Duration] = Field(default_factory=_default_windows)
    default_window: Duration = timedelta(hours=24)

    def policy(self) -> ThreadPolicy:
        windows = {**_default_windows(), **self.reopen_window}
        return ThreadPolicy(windows, self.default_window)


class WebformSettings(Section):
    secret: SecretStr = Field(min_length=16)
    max_field_chars: int = Field(100_000, ge=100)


class TwilioVoiceSettings(Section):
    """The IVR. Texts left unset keep the built-in wording (channels/voice_twiml.py)."""

    dial: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$")  # instead of <Enqueue>
    dial_timeout: int = Field(20, ge=5, le=600)
    max_queue_size: int | None = Field(None, ge=0)  # more waiting tickets: the menu instead
    max_voicemail_seconds: int = Field(120, ge=5, le=120)  # Twilio transcribes up to 120 s
    language: str = "en-US"
    greeting: str | None = None
    closed: str | None = None
    busy: str | None = None
    menu: str | None = None
    invalid: str | None = None
    callback_confirmed: str | None = None
    voicemail_prompt: str | None = None
    goodbye: str | None = None


class TwilioSettings(Section):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr = Field(min_length=16)
    api_base: str = Field("https://api.twilio.com", pattern=r"^https?://[^/?#\s]+/?$")
    # SMS replies to customers who never texted one of our numbers (a web form's phone)
    from_number: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$")
    acknowledgement: str = "Thanks, we got your message. Your ticket number is {ticket}."
    help_text: str = "Reply to this number and our team will answer. Reply STOP to opt out."
    on_bad_signature: Literal["reject", "quarantine"] = "reject"
    send_attempts: int = Field(4, ge=1, le=10)  # 429 and 5xx are tried again, with backoff
    send_backoff: Duration = timedelta(milliseconds=500)
    send_timeout: Duration = timedelta(seconds=10)
    max_file_bytes: int = Field(MAX_FILE_BYTES, ge=1024, le=1 << 30)  # MMS media, recordings
    file_timeout: FileTimeout = timedelta(seconds=20)  # Twilio's answer for one, each read
    voice: TwilioVoiceSettings = TwilioVoiceSettings()

    @field_validator("acknowledgement")
    @classmethod
    def _one_placeholder(cls, text: str) -> str:
        try:
            text.format(ticket=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may hold only the placeholder {ticket}") from exc
        return text


class ChannelsSettings(Section):
    webform: WebformSettings | None = None
    twilio: TwilioSettings | None = None
    slack: SlackSettings | None = None
    smtp: SmtpSettings | None = None
    imap: list[ImapSettings] = Field(default_factory=list)
    webchat: WebchatSettings | None = None


class AgentsSettings(Section):
    presence_timeout: Duration = timedelta(seconds=60)  # no event stream or heartbeat: offline
    offer_tick: float = Field(1.0, gt=0.0, le=60.0)  # seconds: offer timers and other hubs' work


class WebSettings(Section):
    """The web face's sessions: each ends `session_lifetime` after sign-in (or at sign-out);
    every `session_purge_interval` a hub revokes the ended ones never signed out."""

    session_lifetime: Duration = timedelta(hours=12)
    session_purge_interval: Duration = timedelta(minutes=10)

    @field_validator("session_lifetime")
    @classmethod
    def _sensible_lifetime(cls, lifetime: timedelta) -> timedelta:
        if not timedelta(minutes=5) <= lifetime <= timedelta(days=30):
            raise ValueError("must be between 5m and 30 days (720h)")
        return lifetime

    @field_validator("session_purge_interval")
    @classmethod
    def _sensible_interval(cls, interval: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= interval <= timedelta(days=1):
            raise ValueError("must be between 1s and 24h")
        return interval


class LoggingSettings(Section):
    level: str = Field("info", pattern="^(debug|info|warning|error)$")
    format: Literal["text", "json"] = "text"  # json: one object per line


class Settings(Section):
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    routing: RoutingSettings = RoutingSettings()
    threading: ThreadingSettings = ThreadingSettings()
    channels: ChannelsSettings = ChannelsSettings()
    outbound: OutboundSettings = OutboundSettings()
    campaigns: CampaignSettings = CampaignSettings()
    retention: RetentionSettings = RetentionSettings()
    agents: AgentsSettings = AgentsSettings()
    web: WebSettings = WebSettings()
    logging: LoggingSettings = LoggingSettings()


def load_storage_settings(path: Path, environ: Mapping[str, str]) -> StorageSettings:
    """Only the `[storage]` section of a config file: what a command that touches nothing but
    the store needs (it must not demand every channel's secrets)."""
    return load_sections(path, environ, "storage").storage


def load_sections(path: Path, environ: Mapping[str, str], *names: str) -> Settings:
    """Only the named sections of a config file (the others are left at their defaults,
    unread): a command that needs, say, the store and the rules file does not demand every
    channel's secrets."""
    raw = _read_toml(path)
    chosen = {name: raw[name] for name in names if name in raw}
    return parse_settings(chosen, environ, path.parent, str(path))


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read and validate a config file; None gives the embedded default."""
    if path is None:
        return Settings()
    return parse_settings(_read_toml(path), environ, base=path.parent, source=str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def parse_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str], base: Path, source: str = "config"
) -> Settings:
    problems: list[str] = []
    resolved = _resolve_env(raw, environ, (), problems)
    try:
        settings = Settings.model_validate(resolved)
    except ValidationError as exc:
        missing = {p.partition(":")[0] for p in problems}  # reported once, as unset variables
        described = (_describe(error) for error in exc.errors())
        problems += [d for d in described if d.partition(":")[0] not in missing]
        settings = None
    if problems or settings is None:
        raise ConfigError(f"{source}: invalid configuration", tuple(problems))
    rules = settings.routing.rules
    if rules is not None and not rules.is_absolute():
        routing = settings.routing.model_copy(update={"rules": base / rules})
        settings = settings.model_copy(update={"routing": routing})
    return settings


def _resolve_env(
    value: Any, environ: Mapping[str, str], path: tuple[str, ...], problems: list[str]
) -> Any:
    if isinstance(value, Mapping):
        return {k: _resolve_env(v, environ, (*path, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, environ, (*path, str(i)), problems) for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in environ:
            problems.append(f"{'.'.join(path)}: environment variable {name} is not set")
            return None
        return environ[name]
    return value


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if error["type"] == "too_short" and isinstance(error.get("input"), str):
        # A secret's own message would say "items"; its length is all that may be shown.
        return f"{where}: too short, at least {error['ctx']['min_length']} characters"
    return f"{where}: {error['msg']}"
