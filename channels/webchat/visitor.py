"""Who a visitor is: a signed identity the website vouches for, or an anonymous session.

With a `secret`, a website's server signs its signed-in user's id: hash = hex HMAC-SHA256
(secret, id). A visitor whose hash matches is that user: identity `chat:<id>`. The website
may vouch for the user's email address the same way (`email` and `email_hash` = HMAC of the
address, lower-cased): then the visitor is that address too, and joins the customer of
that id and that address across channels. An email the visitor only typed is a hint, kept
on their messages and never an identity, so typing someone's address joins nobody to that
person (signed in or not: the hash covers the id, not what the browser adds). An unsigned
visitor is only their session (`visitor:<digest of the session>`, the session being a
random secret the hub issues and the widget keeps). With `require_identity`, an unsigned
visitor or a wrong hash is refused at hello.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from channels.base import same_digest
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
    email: str  # the address given ("" when none): the website's, or a hint
    signed: bool
    session: str  # the secret the widget keeps: "" for a signed visitor
    email_signed: bool = False  # the website vouched for `email`

    @property
    def identities(self) -> tuple[Identity, ...]:
        """The identities beyond `identity` that join this visitor to a customer."""
        return (email_identity(self.email),) if self.email_signed else ()

    @property
    def email_hint(self) -> str:
        """An address the visitor typed, which joins them to nobody."""
        return "" if self.email_signed else self.email


def identify(hello: Hello, secret: bytes | None, require_identity: bool) -> Visitor:
    """The visitor a hello presents; FrameError("identity_refused") when it may not chat."""
    signed = hello.identity
    if signed is not None:
        if secret is None:
            raise FrameError("identity_refused", "this chat does not take signed identities")
        if not _matches(secret, signed.id, signed.hash):
            raise FrameError("identity_refused", "the identity hash does not match the id")
        email = _email(signed.email)
        if email and not _matches(secret, email, signed.email_hash):
            raise FrameError("identity_refused", "the email hash does not match the email")
        return Visitor(
            Identity(SIGNED, signed.id), hello.name, email or _email(hello.email),
            signed=True, session="", email_signed=bool(email),
        )  # fmt: skip
    if require_identity:
        raise FrameError("identity_refused", "this chat needs a signed identity (id and hash)")
    session = hello.session if len(hello.session) >= 16 else secrets.token_urlsafe(24)
    digest = hashlib.sha256(session.encode()).hexdigest()[:32]
    email = _email(hello.email)
    return Visitor(Identity(ANONYMOUS, digest), hello.name, email, signed=False, session=session)


def _matches(secret: bytes, value: str, digest: str) -> bool:
    """Whether `digest` is the hex HMAC-SHA256 of `value`, compared in constant time."""
    expected = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
    return same_digest(expected, digest.lower())


def _email(raw: str) -> str:
    if not raw:
        return ""
    try:
        return email_identity(raw).value
    except PayloadError as exc:
        raise FrameError("bad_frame", "email is not an email address") from exc
