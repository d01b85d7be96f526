"""The one place where the error tree becomes HTTP statuses (and never a traceback)."""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestPayloadError

from core.errors import (
    AuthError,
    ChannelError,
    Conflict,
    Forbidden,
    HubError,
    InvalidRequest,
    MoveRefused,
    NotFound,
    PayloadError,
    PayloadTooLarge,
    ProviderFailed,
    RuleError,
    SignatureError,
    StorageUnavailable,
)
from hub.metrics import Metrics

log = structlog.get_logger("contacthub.http")

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[HubError], int], ...] = (
    (SignatureError, 403),
    (PayloadTooLarge, 413),
    (PayloadError, 400),
    (Forbidden, 403),
    (AuthError, 401),
    (InvalidRequest, 400),
    (RuleError, 400),
    (NotFound, 404),
    (Conflict, 409),
    (StorageUnavailable, 503),
    (ProviderFailed, 502),
)


def status_of(error: HubError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 500)


def error_middleware(metrics: Metrics) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type != "text/plain":
                raise  # a redirect, or an answer that has its body already
            return _plain_error(request, exc)
        except HubError as exc:
            return _hub_error_response(request, exc, metrics)
        except (HttpProcessingError, RequestPayloadError) as exc:
            return _unreadable(request, exc)
        except Exception:
            log.exception("unhandled_error", method=request.method, path=request.path)
            return web.json_response({"error": "internal error"}, status=500)

    return middleware


def _plain_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusals (no such route, a method the route lacks, a body over
    `max_body_bytes`) said as every other error is, `{"error"}` in JSON with a reason,
    not its plain-text "404: Not Found"."""
    if exc.status == 404:
        reason = f"no such endpoint: {request.method} {request.path}"
    elif exc.status == 405:
        allowed = exc.headers.get("Allow", "")
        reason = f"{request.method} is not allowed on {request.path} (allowed: {allowed})"
    else:
        reason = (exc.text or exc.reason).strip().removeprefix(f"{exc.status}: ").rstrip(".")
    headers = {name: exc.headers[name] for name in ("Allow", "Retry-After") if name in exc.headers}
    return web.json_response({"error": reason}, status=exc.status, headers=headers)


def _unreadable(
    request: web.Request, exc: HttpProcessingError | RequestPayloadError
) -> web.Response:
    """A body aiohttp could not read: `Content-Encoding: gzip` over bytes that are not gzip,
    a broken chunked framing. The sender's fault, so a 400 (a 5xx would be retried forever),
    logged once as a warning without a traceback. The connection closes: aiohttp would
    otherwise read the rest of the broken body after the answer, and log its traceback."""
    cause = exc.__cause__ if isinstance(exc, RequestPayloadError) else exc
    reason = getattr(cause, "message", "") or str(exc) or type(exc).__name__
    log.warning("unreadable_body", method=request.method, path=request.path, reason=reason[:200])
    answer = web.json_response(
        {"error": f"the request body could not be read: {reason[:200]}"}, status=400
    )
    answer.force_close()
    return answer


def _hub_error_response(request: web.Request, exc: HubError, metrics: Metrics) -> web.Response:
    status = status_of(exc)
    body: dict[str, object] = {"error": exc.message}
    problems = getattr(exc, "problems", ())
    if problems:
        body["problems"] = list(problems)
    if isinstance(exc, MoveRefused):
        body["allowed"] = list(exc.allowed)
    headers = {}
    if isinstance(exc, StorageUnavailable):
        headers["Retry-After"] = "5"
    elif type(exc) is AuthError:
        headers["WWW-Authenticate"] = 'Bearer realm="contacthub"'
    if isinstance(exc, ChannelError):
        # A provider that signs URLs names the URL it was checked against (rebuilt from
        # server.public_url); the label drops the query, which would make it unbounded.
        url = getattr(exc, "url", "")
        label = urlsplit(url)._replace(query="", fragment="").geturl() if url else request.path
        metrics.rejected.labels(exc.channel, type(exc).__name__, label).inc()
        log.warning(
            "webhook_rejected", channel=exc.channel, reason=exc.message, url=url or str(request.url)
        )
    elif status >= 500:
        log.error("request_failed", path=request.path, status=status, error=exc.message)
    return web.json_response(body, status=status, headers=headers)
