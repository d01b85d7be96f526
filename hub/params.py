"""Reading a request: its JSON body, path ids and query values, each refused (400) by name."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from core.customers import tag_key
from core.errors import InvalidRequest
from core.json_input import load_json, refuse_lone_surrogates
from core.model import MAX_ID, whole_id
from router.yamlnodes import suggest

MAX_PAGE = 200
E = TypeVar("E", bound=StrEnum)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (the one shape every API call takes)."""
    raw = await request.read()
    try:
        data = load_json(raw)
        refuse_lone_surrogates(raw, data)  # an API client can fix and resend: refused
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidRequest("body must be a JSON object")
    return data


async def text_body(request: web.Request, what: str) -> str:
    try:
        return (await request.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{what} must be UTF-8 text") from exc


def path_id(request: web.Request, name: str = "id") -> int:
    """A path's id (by default `{id}`): ASCII digits up to MAX_ID, else 400. A route's `\\d+`
    also matches other scripts' digits and any length, which `int` or SQLite refuses."""
    raw = request.match_info[name]
    number = whole_id(raw)
    if number is None:
        raise InvalidRequest(f"not an id: {raw[:40]!r}")
    return number


def body_id(data: dict[str, Any], key: str) -> int:
    """A JSON body's id under `key`: a whole number from 1 to MAX_ID, else 400 (a larger one
    overflows SQLite's integers and rounds in Redis's Lua numbers)."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidRequest(f"{key} must be an id (a whole number from 1 to {MAX_ID})")
    return value


def query_params(request: web.Request, known: Collection[str]) -> dict[str, str]:
    """The query's parameters, each `known` and given once; 400 naming any other."""
    given = request.query
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidRequest(
            "; ".join(f"unknown parameter {n[:40]!r}{suggest(n, known)}" for n in unknown)
        )
    repeated = sorted(name for name in set(given) if len(given.getall(name)) > 1)
    if repeated:
        raise InvalidRequest(f"parameter {repeated[0]!r} given more than once")
    return dict(given)


def page_limit(raw: str | None, default: int = 50) -> int:
    """A listing's `limit`: 1 to MAX_PAGE, `default` when not given."""
    limit = whole_number(raw, "limit")
    limit = default if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def whole_number(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    number = whole_id(raw)
    if number is None:
        raise InvalidRequest(f"{name} must be a whole number")
    return number


def one_of(kind: type[E], raw: object, name: str) -> E | None:
    if raw is None:
        return None
    try:
        return kind(str(raw))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidRequest(f"{name} must be one of {allowed}") from None


def optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string")
    return value


MAX_TAGS = 100
MAX_TAG_CHARS = 100


def tag_list(raw: object) -> tuple[str, ...] | None:
    """Tags as the rules compare them: each trimmed, one of each whatever its case (the rules
    fold case: "VIP" and "vip" are one tag; the first spelling stays), in the order given.
    A tag the web face could not show or edit back (empty, a comma, a control character)
    is refused, not kept as a tag no rule's `customer.tags` would ever match."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise InvalidRequest("tags must be a list of strings")
    if len(raw) > MAX_TAGS:
        raise InvalidRequest(f"tags: at most {MAX_TAGS}")
    kept: dict[str, str] = {}
    for given in raw:
        tag = given.strip()
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise InvalidRequest(f"a tag has 1 to {MAX_TAG_CHARS} characters: {given!r}")
        if "," in tag or not tag.isprintable():
            raise InvalidRequest(f"a tag has no comma or control character: {given!r}")
        kept.setdefault(tag_key(tag), tag)
    return tuple(kept.values())


MAX_SHOWN = 100_000
"""The most messages (or events) a ticket's read may ask for (`?messages=`, `?last=`)."""


def newest(params: Mapping[str, str], name: str) -> int | None:
    """How many of the newest a read asks for by `name` (None: all): 1 to MAX_SHOWN."""
    count = whole_number(params.get(name), name)
    if count is not None and not 1 <= count <= MAX_SHOWN:
        raise InvalidRequest(f"{name} must be between 1 and {MAX_SHOWN}")
    return count
