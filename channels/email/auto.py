"""Automatic mail and bounces: what must never get an automatic answer (RFC 3834 spirit).

Two systems that answer each other's automatic mail loop forever, so anything that looks
automatic is flagged (`meta["automatic"]` says why) and the hub never acknowledges it. A
delivery status notification (RFC 3464) that reports a failure names the Message-ID of the
message that failed, so a bounce of one of our replies can mark that reply failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_ROBOT_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_AUTO_HEADERS = ("X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")


def normalise_id(raw: object) -> str:
    """A Message-ID as `<id@host>` (angle brackets, no spaces), or "" when there is none."""
    if raw is None:
        return ""
    text = str(raw)
    found = _MESSAGE_ID.search(text)
    if found:
        return f"<{found.group(1)}>"
    token = text.strip().split()[0] if text.strip() else ""
    return f"<{token[:500]}>" if token and "@" in token else ""


def referenced_ids(raw: object, limit: int = 50) -> list[str]:
    """Every Message-ID of a References / In-Reply-To header, in order."""
    if raw is None:
        return []
    return [f"<{m}>" for m in _MESSAGE_ID.findall(str(raw))][-limit:]


def automatic_reason(message: Message, sender: str, envelope_from: str | None) -> str:
    """Why a message is automatic ("" when a person wrote it)."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    marker = next((h for h in _AUTO_HEADERS if message.get(h) is not None), None)
    reasons = (
        (bool(auto) and not auto.startswith("no"), f"auto-submitted: {auto[:40]}"),
        (precedence in _AUTO_PRECEDENCE, f"precedence: {precedence}"),
        (marker is not None, f"header: {(marker or '').lower()}"),
        (message.get_content_type() == "multipart/report", "delivery report"),
        (envelope_from is not None and envelope_from.strip() in ("", "<>"), "empty sender"),
        (sender.partition("@")[0].lower() in _ROBOT_LOCAL_PARTS, "mailer-daemon sender"),
    )
    return next((reason for found, reason in reasons if found), "")


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery report's verdict on one message we (or someone) sent."""

    original_id: str
    action: str
    status: str

    @property
    def failed(self) -> bool:
        return self.action == "failed"


def find_bounce(report: Message) -> Bounce | None:
    """The failed (or delayed) delivery a multipart/report describes, if it names one."""
    if report.get_content_type() != "multipart/report" or not report.is_multipart():
        return None
    action, status, original = "", "", ""
    for part in _children(report):
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            action, status = _status_fields(part)
        elif kind in ("message/rfc822", "text/rfc822-headers"):
            original = _original_id(part)
    if not original:
        return None
    return Bounce(original, action or "failed", status)


def _children(message: Message) -> list[Message]:
    payload = message.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _status_fields(part: Message) -> tuple[str, str]:
    """Action and Status of the first recipient block (its fields may come as sub-messages)."""
    blocks = _children(part) or [part]
    text = "\n".join(str(block) for block in blocks)
    action = re.search(r"^action:\s*([a-z]+)", text, re.IGNORECASE | re.MULTILINE)
    status = re.search(r"^status:\s*([0-9.]+)", text, re.IGNORECASE | re.MULTILINE)
    return (
        action.group(1).lower() if action else "",
        status.group(1) if status else "",
    )


def _original_id(part: Message) -> str:
    inner = _children(part)
    if inner:
        return normalise_id(inner[0].get("Message-ID"))
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    headers = HeaderParser(policy=compat32).parsestr(payload.decode("ascii", "replace"))
    return normalise_id(headers.get("Message-ID"))
