"""The exception tree every layer shares.

    HubError
    ├── ConfigError              settings or rules unusable at start (exit 2)
    │   └── ListenError          a listener's port is taken or refused (exit 1)
    ├── RuleError                a rules file that does not validate (file, line, rule)
    ├── ChannelError             a provider's input we refuse
    │   ├── SignatureError       403: forged, stale or missing signature
    │   ├── PayloadError         400: malformed payload, with the reason
    │   └── PayloadTooLarge      413: body over the configured limit
    ├── AuthError                401: no or unknown bearer token
    │   └── Forbidden            403: a token whose role may not do this
    ├── InvalidRequest           400: an API call with bad arguments
    ├── ProviderFailed           502: a provider's API failed what the hub asked of it
    └── StorageError             the store failed
        ├── StorageUnavailable   503: the store cannot be reached; the sender retries
        ├── NotFound             404: no such ticket, customer, queue ...
        └── Conflict             409: the change collides with the stored state
            ├── MoveRefused      409: a status move the workflow does not allow
            ├── HeldByOther      409: the ticket is someone else's (the API says 403)
            └── RulesChanged     409: a newer rules version than the one a save replaces

Exceptions carry fields, not only text. The codes above are the HTTP face's; each face maps
the tree to its own codes in exactly one place (hub/http_errors.py, the SMTP handler).
"""

from __future__ import annotations

import os


class HubError(Exception):
    """The root of every error contacthub raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(HubError):
    """Settings that cannot be used; `problems` lists every one with its key path."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class ListenError(ConfigError):
    """A listener that cannot bind: which one, where, why and the setting that moves it."""

    def __init__(self, listener: str, host: str, port: int, reason: str, setting: str) -> None:
        super().__init__(
            f"{listener} cannot listen on {host}:{port}: {reason} (change the setting {setting})"
        )
        self.listener, self.host, self.port = listener, host, port
        self.reason, self.setting = reason, setting

    @classmethod
    def from_os_error(
        cls, listener: str, host: str, port: int, exc: OSError, setting: str
    ) -> ListenError:
        # asyncio's bind errors carry a long strerror; the errno's own words are the reason
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return cls(listener, host, port, reason, setting)


class RuleError(HubError):
    """A rules file that does not validate; each problem names file, line and rule."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class ChannelError(HubError):
    """Provider input the hub refuses; `channel` names where it came in."""

    def __init__(self, message: str, channel: str = "") -> None:
        super().__init__(message)
        self.channel = channel


class SignatureError(ChannelError):
    """A forged, stale or missing provider signature; `url` is the URL it was checked against
    (when the provider signs URLs), so a misconfigured proxy shows in logs and metrics."""

    def __init__(self, message: str, channel: str = "", url: str = "") -> None:
        super().__init__(message, channel)
        self.url = url


class PayloadError(ChannelError):
    """A malformed payload; the message says what is wrong."""


class PayloadTooLarge(ChannelError):
    """A body or part over its configured limit."""

    def __init__(self, message: str, channel: str = "", limit: int = 0) -> None:
        super().__init__(message, channel)
        self.limit = limit


class AuthError(HubError):
    """No bearer token, or one the hub does not know."""


class Forbidden(AuthError):
    """A known token whose role may not do this."""


class InvalidRequest(HubError):
    """An API call with arguments the hub cannot use."""


class ProviderFailed(HubError):
    """A provider's API that failed a request the hub made for an agent (a file it keeps):
    no answer, too slow, a refusal or an error. `status` is its HTTP status (0: none)."""

    def __init__(self, message: str, provider: str, status: int = 0) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class StorageError(HubError):
    """The store failed in a way a retry will not cure."""


class StorageUnavailable(StorageError):
    """The store cannot be reached now; the sender should retry."""


class NotFound(StorageError):
    """No such record."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key}")
        self.kind = kind
        self.key = key


class Conflict(StorageError):
    """The change collides with the stored state."""


class MoveRefused(Conflict):
    """A status move core/workflow.py does not allow, found against the ticket's status in
    the store's atomic step; `allowed` are the moves the ticket could make."""

    def __init__(self, ticket_id: int, current: str, wanted: str, allowed: tuple[str, ...]) -> None:
        moves = ", ".join(allowed) or "none: it is final"
        super().__init__(
            f"ticket {ticket_id} cannot move from {current} to {wanted}; allowed: {moves}"
        )
        self.ticket_id = ticket_id
        self.current = current
        self.wanted = wanted
        self.allowed = allowed


class TicketFinal(Conflict):
    """A change of a ticket whose status is final (core/workflow.py `is_final`)."""

    STAYS = (
        "its status, priority, queue, tags and assignee stay as they are (notes may still be added)"
    )

    def __init__(self, ticket_id: int, status: str, refused: str = STAYS) -> None:
        super().__init__(
            f"ticket {ticket_id} is {status}, and a {status} ticket is final: {refused}"
        )
        self.ticket_id = ticket_id
        self.status = status


class ReplyOnFinal(TicketFinal):
    """An agent's reply on a ticket whose status is final: the customer would answer a
    ticket nobody works."""

    def __init__(self, ticket_id: int, status: str) -> None:
        super().__init__(
            ticket_id,
            status,
            "no reply goes out on it (notes may still be added; a follow-up, "
            f"POST /api/tickets/{ticket_id}/follow-up, writes to the customer again on a new "
            "ticket)",
        )


class NotFinal(Conflict):
    """A follow-up asked of a ticket still live: it is replied on, not followed up."""

    def __init__(self, ticket_id: int, status: str) -> None:
        super().__init__(
            f"ticket {ticket_id} is {status}: reply on it (a follow-up is of a closed ticket)"
        )
        self.ticket_id = ticket_id
        self.status = status


class HeldByOther(Conflict):
    """A change made on behalf of a person, of a ticket another person holds."""

    def __init__(self, ticket_id: int, holder: str) -> None:
        super().__init__(f"ticket {ticket_id} is held by {holder}")
        self.ticket_id = ticket_id
        self.holder = holder


class RulesChanged(Conflict):
    """A rules save that expected `expected` to be the newest version, when `newest` was
    (saved meanwhile by another hub, a publish, an edited file): nothing was saved."""

    def __init__(self, expected: int, newest: int) -> None:
        super().__init__(f"the rules changed since version {expected}: version {newest} is newest")
        self.expected = expected
        self.newest = newest
