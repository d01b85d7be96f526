"""JSON from outside, read so that every way it can be wrong is a ValueError with a reason.

`json.loads` fails in more ways than JSONDecodeError: RecursionError for a document nested
about a thousand deep, a plain ValueError for an integer over 4,300 digits (Python's limit
on converting text to int), UnicodeDecodeError for bytes that are not UTF-8. And it accepts
what is not text: a lone surrogate escape ("\\ud800") becomes a str that cannot be encoded
as UTF-8, which SQLite (and every later write) refuses. Callers choose per case what to do
with such text: refuse it, or replace the bad code points (core.json_input.repaired).
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
REPLACEMENT = "\ufffd"


def load_json(raw: bytes) -> Any:
    """The parsed document; ValueError naming what is wrong (never another exception)."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ValueError(f"body is not UTF-8: {exc.reason}") from None
    except RecursionError:
        raise ValueError("body is not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    except ValueError as exc:  # an integer of more digits than int() converts
        raise ValueError(f"body is not valid JSON: {str(exc)[:80]}") from None


def has_lone_surrogates(raw: bytes, data: Any) -> bool:
    """Whether the parsed `data` of `raw` holds a lone surrogate in any string or key.
    Only a `\\uD800`-`\\uDFFF` escape can make one (raw surrogate bytes are not UTF-8), so
    a body without such an escape is not walked."""
    if _ESCAPE.search(raw) is None:
        return False
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def refuse_lone_surrogates(raw: bytes, data: Any) -> None:
    """ValueError when the text holds a lone surrogate: it is not text, and cannot be stored."""
    if has_lone_surrogates(raw, data):
        raise ValueError("body holds a lone surrogate escape (\\ud800-\\udfff): not Unicode text")


def repaired(text: str) -> tuple[str, int]:
    """The text with each lone surrogate replaced by U+FFFD, and how many were replaced."""
    return _SURROGATE.subn(REPLACEMENT, text)
