"""Requests signed exactly as Twilio signs them, and the settings of a Twilio-enabled hub."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from tests.conftest import Hub

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
OLD_AUTH_TOKEN = "twilio-rotated-away-token-98765432"
PUBLIC_URL = "https://hub.example.com"
ADA = "+15552010042"
HUB_NUMBER = "+15557654321"

Params = Sequence[tuple[str, str]]


def twilio_section(**extra: Any) -> dict[str, Any]:
    return {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, **extra}


def signature(url: str, params: Params, token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it (RequestValidator.compute_signature)."""
    multi: dict[str, list[str]] = {}
    for key, value in params:
        multi.setdefault(key, []).append(value)
    return str(RequestValidator(token).compute_signature(url, _Multi(multi)))


class _Multi(dict[str, list[str]]):
    """A multi-valued mapping in the shape RequestValidator reads (getall)."""

    def getall(self, key: str) -> list[str]:
        return self[key]


def sms_params(
    sid: str, body: str = "hello", sender: str = ADA, media: Sequence[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    params = [
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", sid),
        ("From", sender),
        ("To", HUB_NUMBER),
        ("Body", body),
        ("NumMedia", str(len(media))),
    ]
    for index, (url, content_type) in enumerate(media):
        params += [(f"MediaUrl{index}", url), (f"MediaContentType{index}", content_type)]
    return params


def call_params(sid: str, caller: str = ADA, **extra: str) -> list[tuple[str, str]]:
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "From": caller,
        "To": HUB_NUMBER,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    return list({**params, **extra}.items())


async def post_twilio(
    hub: Hub,
    path: str,
    params: Params,
    *,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST a form as Twilio does, signed for `signed_url` (default: the public URL + path)."""
    url = signed_url or PUBLIC_URL + path
    sent = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(url, params, token),
        **(headers or {}),
    }
    async with hub.http.post(path, data=urlencode(list(params)), headers=sent) as response:
        return response.status, await response.text()
