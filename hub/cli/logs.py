"""Logging, configured once by the CLI: one line per event on stderr, text or JSON.

Every line, ours (structlog) or a library's (aiohttp, asyncio through the standard
library), goes through the same processors: the request id, channel and ticket id bound for
the block that logs (hub/log_context.py: hub/request_ids.py and hub/ingest.py bind them),
the level, the logger's name, the time, a traceback as text, then `Redactor`: the
configured secrets and anything shaped like a token never appear at any level; addresses,
phone numbers and message text are masked unless the level is debug.

Ours are rendered in structlog's chain and written straight to stderr (`_Lines`); only the
libraries' records go through the standard library's handler. Handing ours to it as well
made two `LogRecord`s per line, a look for the caller's frame and a formatter's copy: an
INFO line cost ~90 µs, a fifth of the hub's CPU per contact at the default level. Text
lines are rendered by `TextRenderer` (the console renderer's lines at ~a third of its cost;
the console renderer itself, with colours, when stderr is a terminal): 20 → 13 µs a line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

import structlog
from pydantic import BaseModel, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

from core.identity import mask
from hub.log_context import merge_bound

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LogFormat = Literal["text", "json"]

# Shapes of credentials, whatever key they come under: our API tokens, Slack's, a bearer header
_TOKENS = re.compile(r"\bch_[\w-]{16,}|\bx(?:ox[abprs]|app)-[\w-]+|\bBearer\s+[\w.~+/=-]{8,}")
_TOKEN_HINTS = ("ch_", "xox", "xapp", "Bearer")  # what every match of _TOKENS holds
_SECRET_KEYS = re.compile(r"secret|password|passwd|token|authorization|api_key|signature", re.I)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+[1-9]\d{6,14}\b")  # E.164, as every channel stores numbers
_TEXT_KEYS = frozenset({"body", "text", "subject", "content", "message_text"})
_KEPT = frozenset({"time", "level", "logger", "message"})  # not rewritten by key
HIDDEN = "[secret]"


class Redactor:
    """A structlog processor: secrets out at every level; personal data masked above debug."""

    def __init__(self, secrets: Iterable[str], *, mask_personal: bool) -> None:
        # longest first, so a secret containing another is replaced whole
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        self._mask_personal = mask_personal

    def __call__(self, _logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        for key, value in event.items():
            if key in _KEPT or key.startswith("_"):
                continue
            if _secret_key(key):
                event[key] = HIDDEN
            elif self._mask_personal and key in _TEXT_KEYS and isinstance(value, str):
                event[key] = f"[{len(value)} characters]"
            elif isinstance(value, str):
                event[key] = self.clean(value)
        event["message"] = self.clean(str(event.get("message", "")))
        return event

    def clean(self, text: str) -> str:
        # each pattern only where the text holds what it must start with: most values of a
        # line (ids, outcomes, names of things) hold none, and a line has several
        for secret in self._secrets:
            text = text.replace(secret, HIDDEN)
        if any(hint in text for hint in _TOKEN_HINTS):
            text = _TOKENS.sub(HIDDEN, text)
        if self._mask_personal:
            if "@" in text:
                text = _ADDRESS.sub(lambda m: mask(m.group()), text)
            if "+" in text:
                text = _PHONE.sub(lambda m: mask(m.group()), text)
        return text


@functools.cache
def _secret_key(key: str) -> bool:
    """Whether a key names a secret (a line's keys are few and come again and again)."""
    return _SECRET_KEYS.search(key) is not None


def settings_secrets(settings: BaseModel) -> list[str]:
    """Every `SecretStr` of a settings tree, and the password of the storage URL."""
    found: list[str] = []
    _collect(settings, found)
    storage = getattr(settings, "storage", None)
    password = urlsplit(getattr(storage, "url", "")).password
    if password:
        found.append(password)
    return found


def _collect(value: Any, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), found)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found)


def configure_logging(
    level: str = "info", *, format: LogFormat = "text", secrets: Iterable[str] = ()
) -> None:
    number = _LEVELS.get(level, logging.ERROR)
    shared: list[Processor] = [
        merge_bound,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        structlog.processors.format_exc_info,  # a traceback is text before the redactor
        structlog.processors.EventRenamer("message"),
        Redactor(secrets, mask_personal=number > logging.DEBUG),
    ]
    renderer = _renderer(format)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=_LinesFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    # aiohttp and asyncio speak through the standard library: their warnings stay visible
    root.setLevel(max(number, logging.WARNING))


class _Lines(structlog.WriteLogger):
    """A logger that writes each rendered line (and flushes it), with its name for
    `add_logger_name`. A line that cannot be written (stderr closed, a broken pipe) is
    lost, never raised into the work that logged it, as the standard library's handlers
    do."""

    def __init__(self, name: str, file: TextIO) -> None:
        super().__init__(file)
        self.name = name

    def msg(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: a closed file
            super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _LinesFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, name: str = "contacthub", *_args: Any) -> _Lines:
        return _Lines(name, self._file)


def _renderer(format: LogFormat) -> Processor:
    if format == "json":
        return structlog.processors.JSONRenderer()
    if sys.stderr.isatty():
        return console_renderer(colors=True)
    return TextRenderer(console_renderer(colors=False))


def console_renderer(*, colors: bool) -> structlog.dev.ConsoleRenderer:
    return structlog.dev.ConsoleRenderer(
        colors=colors,
        event_key="message",
        timestamp_key="time",
        exception_formatter=structlog.dev.plain_traceback,  # never a frame's local variables
    )


_LEVEL_WIDTH = len("exception")  # the console renderer pads levels to its longest name
_QUOTED = frozenset(" \t=\r\n\"'")  # a value holding any of these is shown as its repr


class TextRenderer:
    """structlog's ConsoleRenderer without colors, line for line (a test holds them equal):
    `time [level    ] message  [logger] key=value ...`, then a stack and a traceback. One
    f-string, where the console renderer builds each column in a StringIO: an INFO line cost
    ~20 µs, 12 of them there, and the hub writes one for every contact at the default level.
    A line with `exc_info` (format_exc_info turns it into `exception` before) goes to it."""

    def __init__(self, console: structlog.dev.ConsoleRenderer) -> None:
        self._console = console

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> str:
        if "exc_info" in event:
            return self._console(logger, name, event)
        stack, exception = event.pop("stack", None), event.pop("exception", None)
        head = [
            str(event.pop("time")) if "time" in event else "",
            f"[{event.pop('level')!s:<{_LEVEL_WIDTH}}]" if "level" in event else "",
            f"{event.pop('message')!s:<30}" if "message" in event else "",
            f"[{event.pop('logger')}]" if "logger" in event else "",
            f"[{event.pop('logger_name')}]" if "logger_name" in event else "",
        ]
        fields = [f"{key}={_shown(event[key])}" for key in sorted(event)]
        line = " ".join(part for part in (*head, *fields) if part).rstrip(" ")
        if stack is not None:
            line += "\n" + stack
            if exception is not None:
                line += "\n\n" + "=" * 79 + "\n"
        return line if exception is None else line + "\n" + exception


def _shown(value: object) -> str:
    if isinstance(value, str) and not _QUOTED.intersection(value):
        return value
    return repr(value)
