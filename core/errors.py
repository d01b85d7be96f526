"""The exception tree every layer shares.

    HubError
    ├── ConfigError              settings or rules unusable at start (exit 2)
    ├── RuleError                a rules file that does not validate (file, line, rule)
    ├── ChannelError             a provider's input we refuse
    │   ├── SignatureError       403: forged, stale or missing signature
    │   ├── PayloadError         400: malformed payload, with the reason
    │   └── PayloadTooLarge      413: body over the configured limit
    ├── AuthError                401: no or unknown bearer token
    │   └── Forbidden            403: a token whose role may not do this
    ├── InvalidRequest           400: an API call with bad arguments
    └── StorageError             the store failed
        ├── StorageUnavailable   503: the store cannot be reached; the sender retries
        ├── NotFound             404: no such ticket, customer, queue ...
        └── Conflict             409: the change collides with the stored state

Exceptions carry fields, not only text, so each face maps them to its own codes in one
place (the HTTP middleware, the SMTP handler).
"""

from __future__ import annotations


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

    status = 400

    def __init__(self, message: str, channel: str = "") -> None:
        super().__init__(message)
        self.channel = channel


class SignatureError(ChannelError):
    status = 403


class PayloadError(ChannelError):
    status = 400


class PayloadTooLarge(ChannelError):
    status = 413

    def __init__(self, message: str, channel: str = "", limit: int = 0) -> None:
        super().__init__(message, channel)
        self.limit = limit


class AuthError(HubError):
    status = 401


class Forbidden(AuthError):
    status = 403


class InvalidRequest(HubError):
    status = 400


class StorageError(HubError):
    status = 500


class StorageUnavailable(StorageError):
    status = 503


class NotFound(StorageError):
    status = 404

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key}")
        self.kind = kind
        self.key = key


class Conflict(StorageError):
    status = 409
