"""The vocabulary of the dialer: outbound agents ready to be dialled for, and calls.

An outbound agent says where the hub reaches them (`endpoint`: a phone number in E.164, or
`client:IDENTITY` for a Twilio Client in the browser) and whether they are `ready`. Until
the hub knows agents' presence (the assignment work brings it), this flag is the seam: the
progressive dialer asks the store for ready agents and takes one at a time, atomically, so
two hubs never dial twice for one agent. An agent taken for a dial is `busy_until` a bound,
after which a dial whose end was never heard of no longer holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CLIENT_PREFIX = "client:"


@dataclass(frozen=True, slots=True)
class DialerAgent:
    name: str
    campaign_id: int
    endpoint: str
    ready: bool
    updated_at: datetime
    busy_until: datetime | None = None

    def free(self, now: datetime) -> bool:
        return self.busy_until is None or self.busy_until <= now

    @property
    def client(self) -> str | None:
        """The Twilio Client identity the agent answers on, or None for a phone number."""
        return self.endpoint.removeprefix(CLIENT_PREFIX) if self.is_client else None

    @property
    def is_client(self) -> bool:
        return self.endpoint.startswith(CLIENT_PREFIX)
