"""The hub's log lines, read from a real `contacthub serve` process's stderr: JSON or text,
the request id, channel and ticket bound, personal data masked above debug, secrets never."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.identity import mask
from hub.cli.logs import (
    _ADDRESS,
    _PHONE,
    _TOKENS,
    HIDDEN,
    Redactor,
    TextRenderer,
    console_renderer,
    settings_secrets,
)
from hub.settings.tree import parse_settings
from tests.conftest import StartHub
from tests.hub.serving import spawn_serve, wait_ready
from tests.support import FORM_SECRET, form_headers, free_port

ADDRESS, PHONE = "ada.lovelace@example.com", "+15551234567"
API_TOKEN = "ch_" + "Zk3" * 12
SLACK_TOKEN = "xoxb-1234-5678-abcdefghij"


def write_config(tmp_path: Path, port: int, level: str, format: str) -> Path:
    config = tmp_path / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        '[channels.webform]\nsecret = "env:FORM_SECRET"\n'
        f'[logging]\nlevel = "{level}"\nformat = "{format}"\n',
        encoding="utf-8",
    )
    return config


async def serve_and_post(tmp_path: Path, level: str, format: str, subject: str) -> tuple[str, int]:
    """Run a hub, post one signed form, one forged, one API call; its stderr and ticket id."""
    port = free_port()
    config = write_config(tmp_path, port, level, format)
    process = spawn_serve(config)
    try:
        await wait_ready(process, port, tmp_path / "serve.log")
        body = json.dumps(
            {"external_id": "f-1", "email": ADDRESS, "phone": PHONE, "subject": subject,
             "message": "my card number is 4111"}
        ).encode()  # fmt: skip
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            headers = {**form_headers(body), "X-Request-Id": "req-42"}
            async with http.post("/webhooks/form", data=body, headers=headers) as response:
                assert response.headers["X-Request-Id"] == "req-42"
                ticket_id = int((await response.json())["ticket_id"])
            forged = {**form_headers(body, "a-wrong-secret-123456"), "X-Request-Id": "req-43"}
            async with http.post("/webhooks/form", data=body, headers=forged) as response:
                assert response.status == 403
            bearer = {"Authorization": f"Bearer {API_TOKEN}"}
            async with http.get(f"/api/tickets/{ticket_id}", headers=bearer) as response:
                assert response.status == 401
                assert len(response.headers["X-Request-Id"]) == 16  # one made by the hub
    finally:
        process.terminate()
        assert process.wait(10) == 0
    return (tmp_path / "serve.log").read_text(encoding="utf-8"), ticket_id


async def test_json_lines_carry_request_channel_ticket_and_mask_personal_data(
    tmp_path: Path,
) -> None:
    output, ticket_id = await serve_and_post(tmp_path, "info", "json", "Refund please")
    lines = [json.loads(line) for line in output.splitlines()]  # every line is one object
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    [ingested] = [line for line in lines if line["message"] == "contact_ingested"]
    assert ingested["request_id"] == "req-42"
    assert (ingested["channel"], ingested["ticket_id"]) == ("form", ticket_id)
    assert (ingested["level"], ingested["logger"]) == ("info", "contacthub.ingest")
    assert ingested["sender"] == "a***@example.com"
    assert ingested["subject"] == "[13 characters]"
    [rejected] = [line for line in lines if line["message"] == "webhook_rejected"]
    assert (rejected["request_id"], rejected["level"]) == ("req-43", "warning")
    for never in (ADDRESS, PHONE, "Refund please", "4111", FORM_SECRET, API_TOKEN):
        assert never not in output


async def test_secrets_are_hidden_even_at_debug_where_personal_data_shows(
    tmp_path: Path,
) -> None:
    subject = f"keys {FORM_SECRET} {API_TOKEN} {SLACK_TOKEN}"
    output, _ = await serve_and_post(tmp_path, "debug", "text", subject)
    assert "contact_ingested" in output
    assert "req-42" in output
    assert ADDRESS in output  # debug: the operator asked for the contact's details
    assert f"keys {HIDDEN} {HIDDEN} {HIDDEN}" in output
    for secret in (FORM_SECRET, API_TOKEN, SLACK_TOKEN):
        assert secret not in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"to": "bob@example.org"}, {"to": "b***@example.org"}),
        ({"error": "no route to +447700900123"}, {"error": "no route to +44***23"}),
        ({"body": "hello there"}, {"body": "[11 characters]"}),
        ({"text": "hi"}, {"text": "[2 characters]"}),
        ({"signing_secret": "abc"}, {"signing_secret": HIDDEN}),
        ({"auth_token": 12345}, {"auth_token": HIDDEN}),
        ({"header": "Bearer abc.def.ghi"}, {"header": HIDDEN}),
        ({"error": "a bearer token is required"}, {"error": "a bearer token is required"}),
        ({"error": "token xapp-1-AAA rejected"}, {"error": f"token {HIDDEN} rejected"}),
        ({"error": "login failed for hunter2-password"}, {"error": f"login failed for {HIDDEN}"}),
        ({"exception": "ValueError: hunter2-password"}, {"exception": f"ValueError: {HIDDEN}"}),
        ({"count": 3, "port": 2525}, {"count": 3, "port": 2525}),
        ({"time": "2026-12-02T10:00:00Z"}, {"time": "2026-12-02T10:00:00Z"}),
    ],
    ids=[
        "address", "phone-in-text", "body", "text", "secret-key", "token-key", "bearer",
        "bearer-in-words",
        "slack-app-token", "configured-secret", "traceback", "numbers-kept", "time-kept",
    ],
)  # fmt: skip
def test_redactor_at_info(event: dict[str, object], expected: dict[str, object]) -> None:
    redactor = Redactor(["hunter2-password"], mask_personal=True)
    result = redactor(None, "info", {"message": "event", **event})
    assert result == {"message": "event", **expected}


def test_every_configured_secret_is_collected(tmp_path: Path) -> None:
    raw = {
        "storage": {"url": "redis://:redis-pass-1@127.0.0.1:6379/0"},
        "channels": {
            "webform": {"secret": "w" * 16},
            "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "t" * 16},
            "slack": {"signing_secret": "s" * 16, "bot_token": SLACK_TOKEN},
        },
    }
    settings = parse_settings(raw, {}, tmp_path)
    collected = set(settings_secrets(settings))
    assert {"w" * 16, "t" * 16, "s" * 16, SLACK_TOKEN, "redis-pass-1"} <= collected


@pytest.mark.parametrize(
    ("path", "given", "status"),
    [
        ("/healthz", "lb-7f3a", 200),
        ("/web/static/missing.js", "lb-7f3b", 404),  # aiohttp's own HTTPNotFound
        ("/api/tickets", "lb-7f3c", 401),  # an error of ours
        ("/healthz", "not plain; drop table", 200),
        ("/healthz", "x" * 65, 200),
    ],
    ids=["kept", "http-exception", "hub-error", "not-plain", "too-long"],
)
async def test_every_answer_carries_its_request_id(
    start_hub: StartHub, path: str, given: str, status: int
) -> None:
    hub = await start_hub()
    async with hub.http.get(path, headers={"X-Request-Id": given}) as response:
        assert response.status == status
        answered = response.headers["X-Request-Id"]
    if given.startswith("lb-"):
        assert answered == given
    else:  # the hub made one
        assert re.fullmatch(r"[0-9a-f]{16}", answered)


async def test_a_hub_whose_stderr_is_gone_still_answers_and_stores(tmp_path: Path) -> None:
    """Its log lines are lost (a broken pipe), never raised into the contact that logs them."""
    port = free_port()
    config = write_config(tmp_path, port, "info", "text")  # a line per contact
    process = spawn_serve(config, stderr=subprocess.PIPE)
    try:
        await wait_ready(process, port, tmp_path / "serve.log")
        assert process.stderr is not None
        process.stderr.close()  # the reading end: every write to it now fails
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for n in range(3):
                body = json.dumps(
                    {"external_id": f"f-{n}", "email": f"c{n}@example.com", "message": "hi"}
                ).encode()
                async with http.post(
                    "/webhooks/form", data=body, headers=form_headers(body)
                ) as response:
                    assert response.status == 201, await response.text()
    finally:
        process.terminate()
        process.wait(10)
    with sqlite3.connect(tmp_path / "hub.db") as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 3


_PIECES = st.sampled_from(
    ["ch_", "xoxb-", "xapp-", "Bearer ", "Bearer\t", "@", "+", "+1555", "1234567", ".", "-",
     "_", " ", "a", "Z", "example", ".com", "hunter2-password", "é", "\n", "'"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=30).map("".join), st.booleans())
def test_cleaning_matches_every_pattern_applied_in_turn(text: str, mask_personal: bool) -> None:
    """The redactor looks for a pattern only where its first characters are: the same text
    as applying each pattern to every value in turn."""
    redactor = Redactor(["hunter2-password"], mask_personal=mask_personal)
    expected = _TOKENS.sub(HIDDEN, text.replace("hunter2-password", HIDDEN))
    if mask_personal:
        expected = _ADDRESS.sub(lambda m: mask(m.group()), expected)
        expected = _PHONE.sub(lambda m: mask(m.group()), expected)
    assert redactor.clean(text) == expected


_VALUES = st.one_of(
    st.text(st.sampled_from(["a", "@", " ", "\t", "=", "'", '"', "\n", "é", "[", "]"]), max_size=8),
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=False),
)
_FIXED = ("time", "level", "message", "logger", "logger_name", "stack", "exception")


@given(
    st.dictionaries(st.text("abcz_", min_size=1, max_size=6), _VALUES, max_size=6),
    st.dictionaries(st.sampled_from(_FIXED), st.text("abc x\n", max_size=40), max_size=7),
)
def test_text_lines_are_the_console_renderers(
    fields: dict[str, object], fixed: dict[str, str]
) -> None:
    """The lean text renderer writes what structlog's ConsoleRenderer (no colours) writes."""
    event = {**fields, **fixed}
    expected = console_renderer(colors=False)(None, "info", dict(event))
    assert TextRenderer(console_renderer(colors=False))(None, "info", dict(event)) == expected
