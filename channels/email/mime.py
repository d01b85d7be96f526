"""MIME -> Inbound: one raw email message as a ticket contact, pure and fast.

Speed: the structure is read cheaply (channels/email_structure.py) and only what the ticket
needs is decoded: a few headers, one text part, the attachments' bytes.

What the Inbound carries (channel "email"):
- `text`: the new text of the message (text/plain preferred, else HTML as text), with the
  quoted earlier conversation cut off; the quoted part is kept in `meta["quoted"]`, so text +
  quoted is the whole body. `subject`, the sender's address as identity and display name.
- `thread_keys`, tried in order: `ticket:<id>` for replies to our own Message-IDs, then
  `email:<mailbox>:<id@host>` for In-Reply-To, References (newest first) and the message's
  own Message-ID (scoped by mailbox: a message to two mailboxes is a ticket in each, routed
  by its mailbox), then `ticket:<id>` for a `[#<id>]` token in the subject (also in
  `meta["ticket_hint"]`). The store resolves `ticket:` keys only for that ticket's own
  customer, so a stranger quoting a ticket number gets a new ticket.
- `dedupe_key` (set per mailbox by `ParsedEmail.for_mailbox`): mailbox + Message-ID + digest
  of the body, so a retransmission is dropped while a broken mailer's reused Message-ID with
  another body is kept; without a Message-ID, a digest of sender, date, subject and body.
- `attachments`: references (name, type, size, sha256) of attachments and inline images
  whose bytes travel beside the Inbound in `ParsedEmail.blobs`, for the blob store; parts over
  the per-file or per-message limit are listed without sha256 (`meta["attachments_dropped"]`).
  Parts past `max_parts` or nested deeper than MAX_DEPTH are not walked: the whole message
  is then an attachment of its own (`message.eml`) and `meta["parts_skipped"]` counts them.
- `meta`: `message_id`, `automatic` (why no acknowledgement may answer it), `bounce_of` and
  `bounce_status` for a delivery failure report, `unparsable` for a message kept raw.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from email.message import Message
from email.utils import collapse_rfc2231_value, getaddresses

from channels.email.auto import (
    automatic_reason,
    find_bounce,
    normalise_id,
    referenced_ids,
)
from channels.email.structure import body_digest, decoded_payload, read_message
from channels.email.text import decode_bytes, header_text, html_to_text, split_quoted
from core.errors import PayloadError
from core.identity import EMAIL, email_identity
from core.model import Attachment, Identity, Inbound, ticket_thread_key

NAME = "email"
OUR_MESSAGE_ID = re.compile(r"^<contacthub\.([0-9]{1,12})\.([0-9]{1,12})\.[0-9a-z]+@[^<>\s]+>$")
"""Our outbound Message-IDs: `<contacthub.<ticket>.<message>.<random>@<domain>>`."""
_TICKET_TOKEN = re.compile(r"\[#([0-9]{1,12})\]")


_SIMPLE_FROM = re.compile(
    r'^(?:((?:"[^"\\<>]*"|[^"\\<>,;:@()]*?))\s*<([^<>\s@,;:()"]+@[^<>\s@,;:()"]+)>|'
    r'([^<>\s@,;:()"]+@[^<>\s@,;:()"]+))$'
)
_LOOSE_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+\.[^\s<>\"'(),;:@]+")


@dataclass(frozen=True, slots=True)
class MimeLimits:
    max_text_chars: int = 100_000
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments_bytes: int = 25 * 1024 * 1024
    max_parts: int = 200


MAX_DEPTH = 20
"""Multiparts nested deeper are not walked (real mail nests a handful)."""


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """A parsed message, before it is known which mailbox it is for."""

    inbound: Inbound
    blobs: tuple[bytes, ...] = ()
    digest: str = ""

    def for_mailbox(self, mailbox: str) -> Inbound:
        """The contact as it arrived in one support mailbox (one ticket message each)."""
        mailbox = mailbox.lower()
        message_id = self.inbound.meta.get("message_id", "")
        unique = f"{message_id}:{self.digest[:16]}" if message_id else f"digest:{self.digest}"
        keys = tuple(
            f"{NAME}:{mailbox}:{key.removeprefix(f'{NAME}:')}"
            if key.startswith(f"{NAME}:")
            else key
            for key in self.inbound.thread_keys
        )  # each mailbox threads its own conversation: a copy to sales@ is sales' ticket
        return dataclasses.replace(
            self.inbound,
            recipient=mailbox,
            dedupe_key=f"{NAME}:{mailbox}:{unique}",
            thread_keys=keys,
        )


def make_message_id(ticket_id: int, message_id: int, token: str, domain: str) -> str:
    return f"<contacthub.{ticket_id}.{message_id}.{token}@{domain}>"


def parse_email(
    raw: bytes,
    received_at: datetime,
    envelope_from: str | None = None,
    limits: MimeLimits = MimeLimits(),  # frozen: safe to share
) -> ParsedEmail:
    """Any bytes -> a ParsedEmail; what cannot be read is kept raw and flagged unparsable."""
    digest = body_digest(raw)
    try:
        message = read_message(raw)
        return _parsed(message, raw, digest, received_at, envelope_from, limits)
    except (MessageError, ValueError, LookupError, RecursionError, IndexError) as exc:
        return unparsable(raw, received_at, envelope_from, f"{type(exc).__name__}: {exc}", limits)


def unparsable(
    raw: bytes, received_at: datetime, envelope_from: str | None, reason: str, limits: MimeLimits
) -> ParsedEmail:
    """A message the parser could not read: the raw bytes as its one attachment."""
    digest = hashlib.sha256(raw).hexdigest()
    sender = _envelope_identity(envelope_from) or Identity(EMAIL, f"unknown-{digest[:12]}@invalid")
    original = _whole(raw, digest, limits)
    keep = original.sha256 is not None
    inbound = Inbound(
        channel=NAME,
        external_id=f"digest:{digest}",
        sender=sender,
        text=raw[: limits.max_text_chars].decode("utf-8", "replace"),
        received_at=received_at,
        subject="(unparsable message)",
        attachments=(original,),
        meta={"unparsable": reason[:500], "automatic": "unparsable"},
    )
    return ParsedEmail(inbound, (raw,) if keep else (), digest)


def _whole(raw: bytes, sha256: str, limits: MimeLimits) -> Attachment:
    """The message itself as an attachment (message.eml), its bytes kept when the size
    limit of one attachment allows."""
    keep = len(raw) <= limits.max_attachment_bytes
    return Attachment("message.eml", "message/rfc822", len(raw), sha256 if keep else None)


def _parsed(
    message: Message,
    raw: bytes,
    digest: str,
    received_at: datetime,
    envelope_from: str | None,
    limits: MimeLimits,
) -> ParsedEmail:
    name, sender = _sender(message, envelope_from, digest)
    subject = header_text(message.get("Subject"))
    message_id = normalise_id(message.get("Message-ID"))
    body = _Body(limits)
    body.collect(message, 0)
    if body.skipped:  # what the walk did not reach is kept in the whole message
        whole = _whole(raw, hashlib.sha256(raw).hexdigest(), limits)
        body.attachments.append(whole)
        if whole.sha256:
            body.blobs.append(raw)
    text, quoted = split_quoted(body.text()[: limits.max_text_chars])
    meta = _meta(message, sender, envelope_from, message_id, quoted, body)
    keys, hint = _thread_keys(message, message_id, subject)
    if hint:
        meta["ticket_hint"] = hint
    inbound = Inbound(
        channel=NAME,
        external_id=message_id or f"digest:{_fallback_digest(message, digest)}",
        sender=sender,
        sender_name=name,
        text=text,
        received_at=received_at,
        subject=subject,
        attachments=tuple(body.attachments),
        thread_keys=keys,
        meta=meta,
    )
    unique = digest if message_id else _fallback_digest(message, digest)
    return ParsedEmail(inbound, tuple(body.blobs), unique)


def _fallback_digest(message: Message, digest: str) -> str:
    """Without a Message-ID, what tells two messages apart: sender, date, subject, body."""
    parts = [str(message.get(h, "")) for h in ("From", "Date", "Subject")]
    return hashlib.sha256("\n".join([*parts, digest]).encode("utf-8", "replace")).hexdigest()


def _sender(message: Message, envelope_from: str | None, digest: str) -> tuple[str, Identity]:
    simple = _SIMPLE_FROM.match(header_text(message.get("From")))
    if simple:  # `Name <user@host>` or `user@host`: most mail, without the full grammar
        with contextlib.suppress(PayloadError):
            name = (simple.group(1) or "").strip().strip('"').strip()
            return name, email_identity(simple.group(2) or simple.group(3))
    for header in ("From", "Sender", "Reply-To"):
        for name, address in getaddresses([header_text(v) for v in message.get_all(header, [])]):
            try:
                return name, email_identity(address)
            except PayloadError:
                continue
    loose = _LOOSE_ADDRESS.search(header_text(message.get("From")))  # "Name user@host", no <>
    fallback = (
        _envelope_identity(loose.group(0) if loose else None)
        or _envelope_identity(envelope_from)
        or _envelope_identity(message.get("Return-Path"))
    )
    return "", fallback or Identity(EMAIL, f"unknown-{digest[:12]}@invalid")


def _envelope_identity(address: object) -> Identity | None:
    if not address:
        return None
    try:
        return email_identity(str(address).strip().strip("<>"))
    except PayloadError:
        return None


def _meta(
    message: Message,
    sender: Identity,
    envelope_from: str | None,
    message_id: str,
    quoted: str,
    body: _Body,
) -> dict[str, str]:
    meta = {"message_id": message_id} if message_id else {}
    return_path = message.get("Return-Path")
    envelope = envelope_from if envelope_from is not None else return_path
    reason = automatic_reason(message, sender.value, None if envelope is None else str(envelope))
    if reason:
        meta["automatic"] = reason
    bounce = find_bounce(message)
    if bounce is not None and bounce.failed:
        meta["bounce_of"], meta["bounce_status"] = bounce.original_id, bounce.status
    if quoted:
        meta["quoted"] = quoted
    if body.dropped:
        meta["attachments_dropped"] = str(body.dropped)
    if body.skipped:
        meta["parts_skipped"] = str(body.skipped)
    return meta


def _thread_keys(message: Message, message_id: str, subject: str) -> tuple[tuple[str, ...], str]:
    """Thread keys in the order they are tried, and the ticket number the subject names."""
    replied = referenced_ids(message.get("In-Reply-To"), 5)
    referenced = list(reversed(referenced_ids(message.get("References"))))
    mentioned = list(dict.fromkeys([*replied, *referenced]))
    ours = [m.group(1) for m in map(OUR_MESSAGE_ID.match, mentioned) if m]
    keys = [ticket_thread_key(int(t)) for t in ours]
    keys += [f"{NAME}:{i}" for i in mentioned if not OUR_MESSAGE_ID.match(i)]
    if message_id:
        keys.append(f"{NAME}:{message_id}")
    token = _TICKET_TOKEN.search(subject)
    hint = token.group(1) if token else ""
    if hint:
        keys.append(ticket_thread_key(int(hint)))
    return tuple(dict.fromkeys(keys)), hint


class _Body:
    """Walks the MIME tree once: the first text/plain (else HTML) and the attachments."""

    def __init__(self, limits: MimeLimits) -> None:
        self.limits = limits
        self.plain: str | None = None
        self.html: str | None = None
        self.attachments: list[Attachment] = []
        self.blobs: list[bytes] = []
        self.dropped = 0
        self.skipped = 0
        self._parts = 0
        self._stored = 0

    def text(self) -> str:
        if self.plain is not None and self.plain.strip():
            return self.plain.strip()
        return html_to_text(self.html) if self.html else (self.plain or "").strip()

    def collect(self, part: Message, depth: int) -> None:
        self._parts += 1
        if self._parts > self.limits.max_parts or depth > MAX_DEPTH:
            self.skipped += 1  # kept whole beside the message (`_parsed`), never lost
            return
        payload = part.get_payload()
        kind = part.get_content_type()
        if kind == "message/rfc822" or (part.is_multipart() and kind.startswith("message/")):
            self._attach(part, _rfc822_bytes(part), kind)
        elif isinstance(payload, list):
            for child in payload:
                if isinstance(child, Message):
                    self.collect(child, depth + 1)
        elif _is_attachment(part, kind):
            self._attach(part, decoded_payload(part), kind)
        else:
            self._text(part, kind)

    def _text(self, part: Message, kind: str) -> None:
        if kind == "text/plain" and self.plain is None:
            self.plain = _part_text(part)
        elif kind == "text/html" and self.html is None:
            self.html = _part_text(part)

    def _attach(self, part: Message, data: bytes, kind: str) -> None:
        name = _filename(part, len(self.attachments) + 1, kind)
        size = len(data)
        fits = size <= self.limits.max_attachment_bytes
        if fits and self._stored + size <= self.limits.max_attachments_bytes:
            self._stored += size
            self.blobs.append(data)
            digest = hashlib.sha256(data).hexdigest()
            self.attachments.append(Attachment(name, kind, size, digest))
        else:
            self.dropped += 1
            self.attachments.append(Attachment(name, kind, size))


def _is_attachment(part: Message, kind: str) -> bool:
    disposition = part.get("Content-Disposition")
    if disposition is not None:
        value = str(disposition).lower()
        if value.split(";")[0].strip() == "attachment" or "filename" in value:
            return True
    if kind.startswith(("text/", "multipart/")):
        return "name" in str(part.get("Content-Type", "")).lower() and bool(part.get_param("name"))
    return True


def _part_text(part: Message) -> str:
    text = decode_bytes(decoded_payload(part), part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _rfc822_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0].as_bytes()
    return decoded_payload(part)


def _filename(part: Message, number: int, kind: str) -> str:
    raw = part.get_filename() or part.get_param("name")
    name = header_text(collapse_rfc2231_value(raw) if raw else None, 255)
    name = name.replace("/", "_").replace("\\", "_").strip(". ")
    if name:
        return name
    extension = {"message/rfc822": "eml", "text/plain": "txt"}.get(kind, kind.rpartition("/")[2])
    return f"attachment-{number}.{extension[:10]}"
