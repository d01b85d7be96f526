"""Who a visitor is: a signed identity the website vouches for, or an anonymous session.

With a `secret`, a website's server signs its signed-in user's id: hash = hex HMAC-SHA256
(secret, id). A visitor whose hash matches is that user: identity `chat:<id>`, and the email
they give is theirs too, so they join the customer of that id and email across channels. An
unsigned visitor is only their session (`visitor:<digest of the session>`, the session
being a random secret the widget keeps): the email they type is kept as a hint on their
messages, never as an identity, so typing someone's address joins nobody to that person.
With `require_identity`, an unsigned visitor or a wrong hash is refused at hello.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from channels.webchat.frames import FrameError, Hello
from core.errors import PayloadError
from core.identity import email_identity
from core.model import Identity

SIGNED = "chat"
"""The identity kind of a visitor the website signed: the website's own user id."""
ANONYMOUS = "visitor"
"""The identity kind of an unsigned visitor: a digest of the widget's session secret."""


@dataclass(frozen=True, slots=True)
class Visitor:
    identity: Identity
    name: str
    email: str  # "" when none was given (or it is no address)
    signed: bool
    session: str  # the secret the widget keeps: "" for a signed visitor

    @property
    def identities(self) -> tuple[Identity, ...]:
        """The identities beyond `identity` that join this visitor to a customer."""
        return (email_identity(self.email),) if self.signed and self.email else ()


def identify(hello: Hello, secret: bytes | None, require_identity: bool) -> Visitor:
    """The visitor a hello presents; FrameError("identity_refused") when it may not chat."""
    email = _email(hello.email)
    if hello.identity is not None:
        if secret is None:
            raise FrameError("identity_refused", "this chat does not take signed identities")
        expected = hmac.new(secret, hello.identity.id.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, hello.identity.hash.lower()):
            raise FrameError("identity_refused", "the identity hash does not match the id")
        return Visitor(
            Identity(SIGNED, hello.identity.id), hello.name, email, signed=True, session=""
        )
    if require_identity:
        raise FrameError("identity_refused", "this chat needs a signed identity (id and hash)")
    session = hello.session if len(hello.session) >= 16 else secrets.token_urlsafe(24)
    digest = hashlib.sha256(session.encode()).hexdigest()[:32]
    return Visitor(Identity(ANONYMOUS, digest), hello.name, email, signed=False, session=session)


def _email(raw: str) -> str:
    if not raw:
        return ""
    try:
        return email_identity(raw).value
    except PayloadError as exc:
        raise FrameError("bad_frame", "email is not an email address") from exc
