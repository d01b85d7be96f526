"""An attachment the provider keeps (a Slack file, a Twilio media item), fetched for an agent
on demand with its channel's credentials and passed through: nothing is written.

    ProviderFiles.source_of   the source that fetches it (404 saying why there is none)
    ProviderFiles.fetching    the provider's answer: 404 when it no longer has the file, 502
                              when it fails (no answer within file_timeout, a refusal, a 5xx,
                              a file over max_file_bytes)
    Upstream.pass_to          the bytes on to the agent, as they arrive

Which URLs are fetched, and where the credentials go, is hub/files/sources.py. The
client is one session for the app's lifetime, without cookies (one agent's fetch must not
carry what the provider set for another's). Once the agent's answer has started, a failure
can no longer be a status: the connection is cut, so the browser shows a failed download,
never a truncated file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import structlog
from aiohttp import web
from yarl import URL

from core.errors import NotFound, ProviderFailed
from core.model import Attachment
from hub.files.sources import FileSource, may_fetch, may_follow

log = structlog.get_logger("contacthub.files")

CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GONE = frozenset({404, 410})
_REFUSED = frozenset({401, 403})


class ProviderFiles:
    """The sources of provider-linked attachments by channel, and the client that reads them."""

    def __init__(self, sources: Mapping[str, FileSource]) -> None:
        self.sources = dict(sources)
        self._session: aiohttp.ClientSession | None = None

    def serves(self, channel: str, attachment: Attachment) -> bool:
        """Whether the hub fetches the attachment from its provider (its JSON's `download`)."""
        source, url = self.sources.get(channel), attachment.url
        if attachment.sha256 is not None or not url or source is None:
            return False
        return may_fetch(url, source)

    def source_of(self, channel: str, attachment: Attachment) -> tuple[FileSource, str]:
        """The source and URL of an attachment the hub did not keep; NotFound says why not."""
        name, url = attachment.name, attachment.url
        if not url:
            reason = f"{name!r}: not kept (over the size limit when it came)"
            raise NotFound("bytes of attachment", reason)
        source = self.sources.get(channel)
        if source is None:
            raise NotFound(
                "bytes of attachment", f"{name!r}: not kept, a provider's file the hub only"
                f" links to (its url): the hub has no credentials for {channel}'s provider",
            )  # fmt: skip
        if not may_fetch(url, source):
            hosts = ", ".join(sorted(host for _, host, _ in source.origins))
            raise NotFound(
                "bytes of attachment", f"{name!r}: a link to a host that is not the provider's"
                f" (the hub sends {source.provider}'s credentials only to {hosts})",
            )  # fmt: skip
        return source, url

    @contextlib.asynccontextmanager
    async def fetching(self, source: FileSource, url: str, name: str) -> AsyncIterator[Upstream]:
        """The provider's 200 answer for the file, its body still to read."""
        if self._session is None:
            raise ProviderFailed("the hub's provider client is not running", source.provider)
        try:
            async with asyncio.timeout(source.timeout):
                response = await _answer(self._session, source, url)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderFailed(
                f"{source.provider} did not answer for the file: {_reason(exc, source)}",
                source.provider,
            ) from exc
        try:
            _check(response, source, name)
            yield Upstream(response, source)
        finally:
            response.release()  # back to the pool when read to the end, else closed

    @contextlib.asynccontextmanager
    async def lifetime(self) -> AsyncIterator[None]:
        """The client for the app's lifetime (a `cleanup_ctx` body); none without sources."""
        if not self.sources:
            yield
            return
        jar = aiohttp.DummyCookieJar()
        async with aiohttp.ClientSession(cookie_jar=jar, raise_for_status=False) as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None


@dataclass(frozen=True, slots=True)
class Upstream:
    """The provider's answer with the file, passed on to the agent by `pass_to`."""

    response: aiohttp.ClientResponse
    source: FileSource

    @property
    def content_type(self) -> str:
        """The provider's type of the file, lower case, without parameters ("" for none)."""
        return self.response.headers.get("Content-Type", "").partition(";")[0].strip().lower()

    async def pass_to(self, request: web.Request, headers: Mapping[str, str]) -> web.StreamResponse:
        answer = web.StreamResponse(headers=headers)
        if "Content-Encoding" not in self.response.headers:  # else the length is the encoded one
            answer.content_length = self.response.content_length
        await answer.prepare(request)
        sent, limit = 0, self.source.max_bytes
        try:
            async for chunk in self.response.content.iter_chunked(CHUNK_BYTES):
                sent += len(chunk)
                if sent > limit:
                    return _cut(request, answer, self.source, f"over max_file_bytes ({limit})")
                if not await _written(answer, chunk):
                    return answer  # the agent went away
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _cut(request, answer, self.source, _reason(exc, self.source))
        return answer


async def _answer(
    session: aiohttp.ClientSession, source: FileSource, url: str
) -> aiohttp.ClientResponse:
    timeout = aiohttp.ClientTimeout(sock_connect=source.timeout, sock_read=source.timeout)
    for _ in range(MAX_REDIRECTS + 1):
        # The credentials go only to the provider's origins, never on to a CDN it names.
        headers = {"Authorization": source.authorization} if may_fetch(url, source) else {}
        response = await session.get(
            URL(url), headers=headers, allow_redirects=False, timeout=timeout
        )
        if response.status not in _REDIRECTS:
            return response
        response.release()
        url = _redirect(response, source)
    raise ProviderFailed(
        f"{source.provider} redirected the file more than {MAX_REDIRECTS} times", source.provider
    )


def _redirect(response: aiohttp.ClientResponse, source: FileSource) -> str:
    """Where a redirect leads, when the hub follows it there."""
    if not source.redirects:  # Slack sends a token it refuses to its sign-in page
        raise ProviderFailed(
            f"{source.provider} answered {response.status}, a redirect (to sign in), not the"
            f" file: it refused the hub's credentials; {source.hint}",
            source.provider, response.status,
        )  # fmt: skip
    try:
        target = str(response.url.join(URL(response.headers.get("Location", ""))))
    except ValueError:
        target = ""
    if not may_follow(target, source):
        raise ProviderFailed(
            f"{source.provider} redirected the file to an address the hub does not follow"
            " (only https)", source.provider, response.status,
        )  # fmt: skip
    return target


def _check(response: aiohttp.ClientResponse, source: FileSource, name: str) -> None:
    status, provider = response.status, source.provider
    if status in _GONE:
        raise NotFound(
            "bytes of attachment",
            f"{name!r}: the provider no longer has the file ({provider} answered {status})",
        )
    if status in _REFUSED:
        raise ProviderFailed(
            f"{provider} refused the hub's credentials for the file ({status}): {source.hint}",
            provider, status,
        )  # fmt: skip
    if status != 200:
        raise ProviderFailed(f"{provider} answered {status} for the file", provider, status)
    length = response.content_length
    if length is not None and length > source.max_bytes:
        raise ProviderFailed(
            f"the file is {length} bytes, over channels.{provider}.max_file_bytes"
            f" ({source.max_bytes})", provider, status,
        )  # fmt: skip


async def _written(answer: web.StreamResponse, chunk: bytes) -> bool:
    try:
        await answer.write(chunk)
    except ConnectionError:
        return False
    return True


def _cut(
    request: web.Request, answer: web.StreamResponse, source: FileSource, reason: str
) -> web.StreamResponse:
    """End an answer already started without its end: the agent sees a failed download."""
    log.warning("provider_file_cut", provider=source.provider, reason=reason)
    answer.force_close()
    if request.transport is not None:
        request.transport.close()
    return answer


def _reason(exc: BaseException, source: FileSource) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {source.timeout:g} s (channels.{source.provider}.file_timeout)"
    return f"{type(exc).__name__} {exc}".strip()
