"""Settings of the web chat: `[channels.webchat]`.

```toml
[channels.webchat]
secret = "env:CONTACTHUB_CHAT_SECRET"    # identity hash = hex HMAC-SHA256(secret, id or email)
require_identity = false                 # true: only visitors your site signed may chat
allowed_origins = ["https://www.example.com"]   # pages that may open /chat/ws
queue = "general"                        # whose calendar the widget shows (open / closed)
ask_name = true                          # the widget's pre-chat form
ask_email = true
max_message_chars = 4000                 # a visitor's message
max_frame_bytes = 16384                  # a WebSocket frame (1009 when larger)
messages_per_minute = 20                 # per visitor; more are refused, nothing stored
sockets_per_ip = 20                      # open sockets from one address, per hub
```
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator

from hub.settings.fields import Duration, Section

Origin = Annotated[str, Field(pattern=r"^(\*|https?://[^/?#\s]+)$")]


class WebchatSettings(Section):
    secret: SecretStr | None = Field(None, min_length=16)
    require_identity: bool = False
    allowed_origins: tuple[Origin, ...] = ()  # empty: the hub's own origin only; "*": any
    queue: str = "general"
    ask_name: bool = True
    ask_email: bool = True
    max_message_chars: int = Field(4000, ge=1, le=100_000)
    max_frame_bytes: int = Field(16_384, ge=1024, le=1_048_576)
    messages_per_minute: int = Field(20, ge=1, le=10_000)
    sockets_per_ip: int = Field(20, ge=1, le=100_000)
    heartbeat: Duration = timedelta(seconds=25)  # pings keep proxies from closing idle sockets

    @model_validator(mode="after")
    def _identity_needs_secret(self) -> Self:
        if self.require_identity and self.secret is None:
            raise ValueError("require_identity = true needs secret (to check identity hashes)")
        return self
