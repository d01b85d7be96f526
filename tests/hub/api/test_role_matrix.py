"""The role matrix, generated from the OpenAPI document: every operation called over real
HTTP with no token and with a token of every role. No token: 401; a role outside the
operation's `x-roles`: 403; a role in it: a status the operation documents, never 401, 403
or a 5xx, and a JSON body that conforms to the documented schema. The document describes
every route the app registers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from core.model import Role
from hub.api.openapi import OPENAPI
from hub.app import build_app
from hub.settings.tree import Settings, parse_settings
from tests.conftest import Hub, MakeSettings, StartHub
from tests.slack_support import slack_section
from tests.support import FORM_SECRET
from tests.twilio_support import PUBLIC_URL, twilio_section

METHODS = ("get", "put", "post", "patch", "delete")
OPERATIONS = [
    (method, path, item[method])
    for path, item in OPENAPI["paths"].items()
    for method in METHODS
    if method in item and "x-roles" in item[method]
]
# path parameters: nothing there (a 404 for who may ask), or the caller's own agent name
SAMPLES = {
    "id": "999999",
    "key": "999999",
    "contact_id": "1",
    "attempt_id": "1",
    "message_id": "1",
    "n": "0",
    "phone": "+15551230000",
}
CSV_BODIES = {"/api/campaigns/{id}/contacts", "/api/do-not-call"}


def every_channel(make_settings: MakeSettings) -> Settings:
    return make_settings(
        server={"port": 0, "public_url": PUBLIC_URL},
        channels={
            "webform": {"secret": FORM_SECRET},
            "twilio": twilio_section(),
            "webchat": {"secret": "chat-secret-0123456789"},
        },
    )


def url_of(path: str, caller: str) -> str:
    def sample(match: re.Match[str]) -> str:
        name = match.group(1)
        return caller if name == "name" else SAMPLES[name]

    url = re.sub(r"\{(\w+)\}", sample, path)
    return url.replace("/api/queues/" + caller, "/api/queues/general")


def required_query(operation: Mapping[str, Any]) -> dict[str, str]:
    """A value for each required query parameter: its first choice, or a word."""
    return {
        p["name"]: str(p["schema"].get("enum", ["x"])[0])
        for p in operation.get("parameters", ())
        if p["in"] == "query" and p.get("required")
    }


async def call(
    hub: Hub, method: str, path: str, headers: dict[str, str], caller: str
) -> tuple[int, Any, bool]:
    operation = OPENAPI["paths"][path][method]
    if method == "get":
        data, content_type = None, None
    elif path in CSV_BODIES:
        data, content_type = b"phone\n+15551230001\n", "text/csv"
    else:
        data, content_type = b"{}", "application/json"
    if content_type:
        headers = {**headers, "Content-Type": content_type}
    async with hub.http.request(
        method, url_of(path, caller), params=required_query(operation), data=data, headers=headers
    ) as response:
        # /api/events streams: its status and headers are the answer, the body never ends
        streaming = response.content_type == "text/event-stream"
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body, streaming


def conforms(operation: Mapping[str, Any], status: int, body: Any) -> list[str]:
    """The schema errors of a JSON answer against the operation's documented response."""
    content = operation["responses"].get(str(status), {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None or body is None:
        return []
    validator = Draft202012Validator({**schema, "components": OPENAPI["components"]})
    return [error.message for error in validator.iter_errors(body)]


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    OPERATIONS,
    ids=[f"{method.upper()} {path}" for method, path, _ in OPERATIONS],
)
async def test_every_role_gets_what_the_document_says(
    start_hub: StartHub,
    make_settings: MakeSettings,
    method: str,
    path: str,
    operation: Mapping[str, Any],
) -> None:
    hub = await start_hub(every_channel(make_settings))
    allowed = set(operation["x-roles"])
    status, _, _ = await call(hub, method, path, {}, "nobody")
    assert status == 401, "no token"
    wrong: list[str] = []
    for role in Role:
        headers = await hub.token(role, name=f"{role}-caller")
        status, body, streaming = await call(hub, method, path, headers, f"{role}-caller")
        if role not in allowed:
            if status != 403:
                wrong.append(f"{role}: {status}, not 403")
            continue
        if status in (401, 403) or status >= 500 or str(status) not in operation["responses"]:
            wrong.append(f"{role}: {status}, not a documented answer for an allowed role")
        elif "{" not in path and method == "get" and not 200 <= status < 300:
            wrong.append(f"{role}: {status} for a read that needs no record")
        wrong += [f"{role}: {status}: {e}" for e in conforms(operation, status, body)]
        assert streaming == (path == "/api/events")
    assert wrong == []


def test_every_operation_says_who_may_call_it() -> None:
    for path, item in OPENAPI["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                assert "x-roles" in operation or operation.get("security") == [], path
                if "x-roles" in operation:
                    assert {"401", "403"} <= operation["responses"].keys(), path


def test_the_document_describes_every_route_the_app_registers(tmp_path: Path) -> None:
    """Every channel on: webhooks, operations, the web face, the chat and the API."""
    raw = {
        "server": {"public_url": PUBLIC_URL},
        "storage": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
        "channels": {
            "webform": {"secret": FORM_SECRET},
            "slack": slack_section("http://127.0.0.1:9/api/"),
            "twilio": twilio_section(),
            "webchat": {"secret": "chat-secret-0123456789"},
            "smtp": {"mailboxes": ["help@example.com"]},
        },
    }
    app = build_app(parse_settings(raw, {}, tmp_path))
    registered = {
        (route.method.lower(), _shape(path))
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
        for path in _expand(route.resource.canonical, route.resource.get_info())
    }
    documented = {
        (method, _shape(path))
        for path, item in OPENAPI["paths"].items()
        for method in METHODS
        if method in item
    }
    assert registered - documented == set()
    assert documented - registered == set()


def _expand(path: str, info: Mapping[str, Any]) -> list[str]:
    """A route whose parameter is a choice (`{action:start|pause|stop}`) as each choice."""
    pattern = info.get("pattern")
    choice = re.search(r"\(\?P<(\w+)>([a-z|]+)\)", pattern.pattern) if pattern else None
    if choice is None:
        return [path]
    name, words = choice.groups()
    return [path.replace(f"{{{name}}}", word) for word in words.split("|")]


def _shape(path: str) -> str:
    """A path with its parameters unnamed ({key} and {id} are one route)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_a_body_unlike_the_documented_schema_is_caught() -> None:
    """The conformance check bites: a listing whose items are not a list is reported."""
    listing = OPENAPI["paths"]["/api/tickets"]["get"]
    assert conforms(listing, 200, {"items": [], "next": None}) == []
    assert conforms(listing, 200, {"items": "tickets", "next": None}) != []
    assert conforms(listing, 200, {"items": [{"id": "seven"}], "next": None}) != []
