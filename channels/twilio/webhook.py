"""What every Twilio webhook shares: the form body, its signature, the TwiML answer.

Twilio signs a webhook with HMAC-SHA1 (key: the account's auth token) over the exact URL it
requested followed by the sorted form parameters (`X-Twilio-Signature`). Behind a proxy the
hub does not see that URL, so it is rebuilt from the configured public URL and the raw path
and query of the request. Twilio is known to sign the same URL with or without the default
port, so both forms are candidates; each costs one HMAC, and the form that matched last is
tried first, so a steady stream of webhooks costs one HMAC each.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml import TwiML

from channels.base import Sink, read_body, same_digest
from core.errors import PayloadError, SignatureError
from core.model import Identity, Inbound

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
TWIML_TYPE = "text/xml"
_DEFAULT_PORTS = {"https": 443, "http": 80}

Params = MultiDictProxy[str]


@functools.lru_cache(maxsize=1024)  # few distinct paths; rebuilding them cost as much as the HMAC
def url_forms(base: str, raw_path: str) -> tuple[str, ...]:
    """The URLs Twilio may have signed for a request whose target was `raw_path`: the public
    base joined with it, and the same with the default port added (or removed)."""
    url = base.rstrip("/") + raw_path
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or ":" in host:  # an unknown scheme or an IPv6 literal: as written
        return (url,)
    if parts.port is None:
        other = parts._replace(netloc=f"{parts.netloc}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
    else:
        return (url,)
    return (url, urlunsplit(other))


def without_query(url: str) -> str:
    """The checked URL as a metric label: the query would make the label set unbounded."""
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


def parse_form(body: bytes, channel: str) -> Params:
    """An application/x-www-form-urlencoded body as Twilio sends it (repeated keys kept)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("form body is not UTF-8", channel) from exc
    pairs = MultiDict[str]()
    for field_ in text.split("&"):
        if not field_:
            continue
        key, _, value = field_.partition("=")
        # unquote_plus only where needed: most of Twilio's fields are plain (SIDs, "0").
        pairs.add(_unquote(key), _unquote(value))
    return MultiDictProxy(pairs)


def _unquote(text: str) -> str:
    return unquote_plus(text) if "%" in text or "+" in text else text


@dataclass(slots=True)
class TwilioSignature:
    """Checks `X-Twilio-Signature` with twilio's RequestValidator, one HMAC per URL form."""

    auth_token: str
    public_url: str | None = None
    _validator: RequestValidator = field(init=False, repr=False)
    _preferred: int = 0  # the index of the URL form that matched last

    def __post_init__(self) -> None:
        self._validator = RequestValidator(self.auth_token)

    def candidates(self, request: web.Request) -> tuple[str, ...]:
        base = self.public_url or f"{request.scheme}://{request.host}"
        return url_forms(base, request.raw_path)

    def check(self, request: web.Request, params: Params, channel: str) -> str:
        """The URL form that carries a valid signature; SignatureError names the first tried."""
        forms = self.candidates(request)
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise SignatureError(f"missing signature ({SIGNATURE_HEADER})", channel, forms[0])
        algorithm = get_signature_algorithm(request.headers.get(SETTINGS_HEADER))
        first = self._preferred if self._preferred < len(forms) else 0
        for index in (first, *(i for i in range(len(forms)) if i != first)):
            if self.matches(forms[index], params, signature, algorithm):
                self._preferred = index
                return forms[index]
        raise SignatureError("signature does not match the URL and parameters", channel, forms[0])

    def matches(self, url: str, params: Mapping[str, Any], signature: str, algorithm: str) -> bool:
        try:
            expected = self._validator.compute_signature(url, params, algorithm)
        except ValueError:  # an algorithm twilio does not know: no match, not a crash
            return False
        return same_digest(str(expected), signature)

    def sign(self, url: str, params: Mapping[str, Any]) -> str:
        """The signature Twilio would send for `params` posted to `url` (demo, benchmarks)."""
        return str(self._validator.compute_signature(url, params))


def quarantined(inbound: Inbound, checked_url: str) -> Inbound:
    """An unverified contact, kept apart: it joins no customer, threads onto no ticket of
    theirs, and cannot take the idempotency key of the genuine message it may imitate."""
    return dataclasses.replace(
        inbound,
        sender=Identity("unverified", inbound.sender.key),
        identities=(),
        thread_keys=(),
        dedupe_key=f"{inbound.channel}:unverified:{inbound.external_id}",
        meta={"signature": "unverified", "checked_url": checked_url},
    )


async def verified_contact(
    request: web.Request,
    params: Params,
    signature: TwilioSignature,
    parse: Callable[[Params], Inbound],
    quarantine: Sink | None,
    channel: str,
) -> Inbound | None:
    """The contact when its signature holds. When it fails: SignatureError (403), or, with a
    quarantine, None once the contact is kept there, unverified (the caller answers blandly)."""
    try:
        signature.check(request, params, channel)
    except SignatureError as exc:
        if quarantine is None:
            raise
        await quarantine(quarantined(parse(params), exc.url))
        return None
    return parse(params)


async def read_params(request: web.Request, limit: int, channel: str) -> Params:
    return parse_form(await read_body(request, limit, channel), channel)


def twiml(response: TwiML | str) -> web.Response:
    text = response if isinstance(response, str) else str(response.to_xml())
    return web.Response(text=text, content_type=TWIML_TYPE, charset="utf-8")
