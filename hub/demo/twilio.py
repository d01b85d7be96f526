"""The demo's Twilio traffic: texts and a call, signed as Twilio signs them.

The demo hub is configured as if it ran behind a proxy at `PUBLIC_URL`, so every request
is signed for that URL (as Twilio would sign it) and posted to the local port.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from channels.twilio.webhook import SIGNATURE_HEADER, TwilioSignature
from hub.demo.request import DemoRequest

PUBLIC_URL = "https://hub.example.com"
ACCOUNT_SID = "AC" + "de300000000000000000000000000000"
HUB_NUMBER = "+15557654321"
ADA_PHONE = "+15552010042"  # the number Ada gave on her second form
CALLER = "+447946000123"


def twilio_section(auth_token: str) -> dict[str, Any]:
    return {"account_sid": ACCOUNT_SID, "auth_token": auth_token}


def new_auth_token() -> str:
    return secrets.token_hex(16)


def requests(auth_token: str) -> Iterator[DemoRequest]:
    signer = TwilioSignature(auth_token)
    sms = "/webhooks/twilio/sms"
    voice = "/webhooks/twilio/voice"
    text = _sms("SM" + "a1" * 16, ADA_PHONE, "Hi, is my refund for order 1042 on its way?")
    yield _signed(signer, "sms from Ada's phone", sms, text)
    yield _signed(signer, "sms again (Twilio retry)", sms, text)
    yield _signed(signer, "sms HELP", sms, _sms("SM" + "b2" * 16, CALLER, "HELP"))
    call = _call("CA" + "c3" * 16)
    yield _signed(signer, "call from a new number", voice, call)
    hung_up = [*call, ("QueueResult", "hangup")]
    yield _signed(signer, "caller hangs up in the queue", f"{voice}/queue", hung_up)
    forged = _signed(TwilioSignature(new_auth_token()), "", sms, text)
    yield DemoRequest("sms with a forged signature", sms, forged.body, forged.headers)


def readable(answer: str) -> str:
    """A TwiML answer as its verbs (`Say · Enqueue general`), so the demo's table stays narrow;
    anything else as it came."""
    try:
        root = ET.fromstring(answer)  # noqa: S314  # the demo hub's own answer
    except ET.ParseError:
        return answer.strip()
    if root.tag != "Response":
        return answer.strip()
    verbs = [_verb(child) for child in root]
    return "TwiML: " + (" · ".join(verbs) if verbs else "(empty)")


def _verb(element: ET.Element) -> str:
    text = (element.text or "").strip()
    if element.tag == "Say" or not text:
        return element.tag
    return f"{element.tag} {text!r}" if element.tag == "Message" else f"{element.tag} {text}"


def _sms(sid: str, sender: str, body: str) -> list[tuple[str, str]]:
    return [("AccountSid", ACCOUNT_SID), ("MessageSid", sid), ("From", sender),
            ("To", HUB_NUMBER), ("Body", body), ("NumMedia", "0")]  # fmt: skip


def _call(sid: str) -> list[tuple[str, str]]:
    return [("AccountSid", ACCOUNT_SID), ("CallSid", sid), ("From", CALLER),
            ("To", HUB_NUMBER), ("CallStatus", "ringing"), ("Direction", "inbound")]  # fmt: skip


def _signed(
    signer: TwilioSignature, label: str, path: str, params: list[tuple[str, str]]
) -> DemoRequest:
    multi: dict[str, list[str]] = {}
    for key, value in params:
        multi.setdefault(key, []).append(value)
    headers = {
        SIGNATURE_HEADER: signer.sign(PUBLIC_URL + path, _Multi(multi)),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return DemoRequest(label, path, urlencode(params).encode(), headers)


class _Multi(dict[str, list[str]]):
    """The multi-valued mapping shape twilio's RequestValidator reads."""

    def getall(self, key: str) -> list[str]:
        return self[key]
