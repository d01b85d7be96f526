"""Where the hub may fetch a provider's file for an agent, and with which credentials (pure).

A Slack file or a Twilio media item (an MMS picture, a voicemail) is kept as the provider's
URL, which only the channel's credentials open: Slack's bot token, Twilio's account. The hub
sends them to the provider and nowhere else. A link is fetched only when its scheme, host and
port are exactly one of the provider's origins: its file host over https, or the host of the
configured API base (over http only when that base is http, as a local emulator is). Anything
else (userinfo, another port, a look-alike or longer host, a backslash, a non-ASCII name) is
refused before any request. A redirect (Twilio's media go on to a CDN) is followed only to
https (or the base's http), and the credentials go along only to the provider's own origins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from yarl import URL

from channels.slack.events import NAME as SLACK
from channels.twilio.rest import basic_auth
from channels.twilio.sms import NAME as SMS
from channels.twilio.voice import NAME as VOICE
from hub.settings.tree import Settings

Origin = tuple[str, str, int]
"""A scheme, a host (lower case ASCII) and a port: what a URL's credentials are sent to."""

SLACK_FILES = ("https", "files.slack.com", 443)
"""Where Slack serves `url_private` (a file shared in a message), to the bot token."""
TWILIO_API = ("https", "api.twilio.com", 443)
"""Where Twilio's MediaUrl and RecordingUrl point (to the account's basic auth)."""

_PORTS = {"https": 443, "http": 80}
_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<rest>/[\x21-\x5b\x5d-\x7e]*)?",  # printable ASCII but \
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True, slots=True)
class FileSource:
    """A provider's files as one channel's credentials open them."""

    provider: str  # "slack", "twilio": its settings are channels.<provider>
    origins: frozenset[Origin]
    authorization: str = field(repr=False)
    redirects: bool  # Twilio's media redirect to a CDN; Slack's redirect only to sign in
    max_bytes: int
    timeout: float  # seconds for the answer, and between two reads of the file
    hint: str = ""  # what to check when the provider refuses the credentials

    @property
    def plain_http(self) -> bool:
        """http is followed only where the configured API base is http (an emulator)."""
        return any(scheme == "http" for scheme, _, _ in self.origins)


def origin_of(url: str) -> Origin | None:
    """The URL's origin when the URL is plainly written (None: anything unusual)."""
    found = _URL.fullmatch(url)
    if found is None:
        return None
    scheme, host = found["scheme"].lower(), found["host"].lower()
    port = int(found["port"]) if found["port"] else _PORTS[scheme]
    if not 0 < port < 65536 or ".." in host:
        return None
    try:  # what aiohttp connects to must be what was checked
        parsed = URL(url)
        read = (parsed.scheme, parsed.raw_host, parsed.port, parsed.raw_user)
    except ValueError:
        return None
    return (scheme, host, port) if read == (scheme, host, port, None) else None


def may_fetch(url: str, source: FileSource) -> bool:
    """Whether the URL is one of the provider's, to be fetched with its credentials."""
    return origin_of(url) in source.origins


def may_follow(url: str, source: FileSource) -> bool:
    """Whether a redirect to the URL is followed (with the credentials only if may_fetch)."""
    origin = origin_of(url)
    return origin is not None and (origin[0] == "https" or source.plain_http)


def file_sources(settings: Settings) -> dict[str, FileSource]:
    """The sources of provider-linked attachments by the channel of their message."""
    sources: dict[str, FileSource] = {}
    slack, twilio = settings.channels.slack, settings.channels.twilio
    if slack is not None:
        sources[SLACK] = FileSource(
            "slack", _with_base(SLACK_FILES, slack.api_base),
            authorization=f"Bearer {slack.bot_token.get_secret_value()}", redirects=False,
            max_bytes=slack.max_file_bytes, timeout=slack.file_timeout.total_seconds(),
            hint="the bot token (channels.slack.bot_token) needs the files:read scope",
        )  # fmt: skip
    if twilio is not None:
        auth = basic_auth(twilio.account_sid, twilio.auth_token.get_secret_value())
        sources[SMS] = sources[VOICE] = FileSource(
            "twilio", _with_base(TWILIO_API, twilio.api_base), authorization=auth,
            redirects=True, max_bytes=twilio.max_file_bytes,
            timeout=twilio.file_timeout.total_seconds(),
            hint="check channels.twilio.account_sid and auth_token",
        )  # fmt: skip
    return sources


def _with_base(files: Origin, api_base: str) -> frozenset[Origin]:
    base = origin_of(api_base)
    return frozenset({files} if base is None else {files, base})
