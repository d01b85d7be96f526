"""Settings of the Slack channel: `[channels.slack]`.

```toml
[channels.slack]
signing_secret = "env:SLACK_SIGNING_SECRET"   # Basic Information > App Credentials
bot_token = "env:SLACK_BOT_TOKEN"             # xoxb-...: users.info, chat.postMessage
api_base = "https://slack.com/api/"           # the Web API (tests: a local emulator)
support_channels = ["C0123SUPPORT"]           # channel ids whose messages become tickets
direct_messages = true                        # DMs to the app become tickets too
# mode = "socket"                             # no public URL: Slack's Socket Mode instead
# app_token = "env:SLACK_APP_TOKEN"           # xapp-..., with connections:write
# max_file_bytes = 26214400                   # a shared file agents open through the hub
# file_timeout = "20s"                        # (the bot token needs the files:read scope)
```
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator

from hub.settings.fields import MAX_FILE_BYTES, Duration, FileTimeout, Section

ChannelId = Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,39}$")]


class SlackSettings(Section):
    signing_secret: SecretStr | None = Field(None, min_length=16)  # Events API: required
    bot_token: SecretStr = Field(min_length=8)
    api_base: str = Field("https://slack.com/api/", pattern=r"^https?://[^?#\s]+/$")
    mode: Literal["events", "socket"] = "events"  # socket: no public URL needed
    app_token: SecretStr | None = Field(None, min_length=8)  # Socket Mode's token: xapp-...
    support_channels: tuple[ChannelId, ...] = ()
    direct_messages: bool = True
    user_cache_ttl: Duration = timedelta(hours=1)  # users.info answers (name, email)
    lookup_timeout: Duration = timedelta(seconds=1)  # users.info inside Slack's 3 s to ack
    send_attempts: int = Field(4, ge=1, le=10)  # 429 (after Retry-After) and 5xx: again
    send_backoff: Duration = timedelta(milliseconds=500)
    send_timeout: Duration = timedelta(seconds=10)
    max_file_bytes: int = Field(MAX_FILE_BYTES, ge=1024, le=1 << 30)  # a file an agent opens
    file_timeout: FileTimeout = timedelta(seconds=20)  # Slack's answer for it, each read

    @model_validator(mode="after")
    def _mode_has_its_secret(self) -> Self:
        if self.mode == "socket" and self.app_token is None:
            raise ValueError('mode = "socket" needs app_token (an app-level token, xapp-...)')
        if self.mode == "events" and self.signing_secret is None:
            raise ValueError("the Events API needs signing_secret")
        return self
