"""Posting a form to Twilio's REST API, once for every client of it (messages, calls).

429 and 5xx answers and network errors are tried again with exponential backoff (a
Retry-After header wins, capped); any other answer is final. The caller reads the last
`Answer`: created (Twilio's sid is in it), or refused with Twilio's code and message.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

MAX_RETRY_AFTER = 30.0
Form = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: no HTTP answer at all
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    retry_after: float | None = None

    @property
    def created(self) -> bool:
        return 200 <= self.status < 300 and bool(self.data.get("sid"))

    @property
    def transient(self) -> bool:
        """Worth another try: no answer (but a running client), too many requests, 5xx."""
        return not self.created and (self.status in (0, 429) or self.status >= 500)


NOT_RUNNING = Answer(-1, reason="the twilio client is not running")


def twilio_error(status: int, data: dict[str, Any]) -> str:
    """Twilio's error as one line: `twilio 400: 21211 The 'To' number ... is not valid`."""
    code, message = data.get("code"), data.get("message")
    detail = " ".join(str(part) for part in (code, message) if part)
    return f"twilio {status}: {detail}" if detail else f"twilio {status}"


def basic_auth(account_sid: str, auth_token: str) -> str:
    # Built by hand: aiohttp.BasicAuth is deprecated and its successor is aiohttp >= 3.13.
    pair = f"{account_sid}:{auth_token}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


async def post_form(
    session: aiohttp.ClientSession | None,
    url: str,
    form: Form,
    authorization: str,
    *,
    attempts: int,
    backoff: float,
) -> Answer:
    """The last answer: created, refused for good, or transient after every attempt."""
    answer = NOT_RUNNING
    for number in range(attempts):
        if number:
            await asyncio.sleep(answer.retry_after or backoff * 2 ** (number - 1))
        answer = await _post_once(session, url, form, authorization)
        if not answer.transient:
            break
    return answer


async def _post_once(
    session: aiohttp.ClientSession | None, url: str, form: Form, authorization: str
) -> Answer:
    if session is None:
        return NOT_RUNNING
    try:
        async with session.post(
            url, data=list(form), headers={"Authorization": authorization}
        ) as response:
            status, retry_after = response.status, _retry_after(response.headers)
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Answer(0, reason=f"no answer from twilio: {type(exc).__name__} {exc}".strip())
    data = data if isinstance(data, dict) else {}
    return Answer(status, data, twilio_error(status, data), retry_after)


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After", "")
    try:
        return min(float(raw), MAX_RETRY_AFTER) if raw else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None
