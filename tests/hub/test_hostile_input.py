"""Hostile input over real HTTP never reaches a 5xx other than 503, and stores nothing
(issue 19, part 3): bodies that are not what they claim, signatures and numbers in other
scripts, lone surrogates, JSON nested deep or with huge integers, durations past any clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus, urlencode

import pytest
from structlog.testing import capture_logs

from core.model import Role, ThreadPolicy, TicketFilter
from hub.demo.slack_emulator import SlackEmulator
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.campaign_support import Clock
from tests.slack_support import (
    envelope,
    message,
    slack_emulator,
    slack_headers,
    slack_section,
)
from tests.support import FORM_SECRET, RecordingRouter, form_body, form_headers, inbound
from tests.twilio_support import PUBLIC_URL, signature, sms_params, twilio_section

FORM, SLACK, SMS, VOICE = (
    "/webhooks/form",
    "/webhooks/slack/events",
    "/webhooks/twilio/sms",
    "/webhooks/twilio/voice",
)
WEBHOOKS = [FORM, SLACK, SMS, VOICE]
ARABIC_ONE, ARABIC_ZERO = "\u0661", "\u0660"  # digits to str.isdigit, and to int()
NO_WINDOW = ThreadPolicy({}, timedelta(0))
DEEP = b"[" * 5000 + b"]" * 5000
HUGE_INT = b'{"external_id": "x", "email": "ada@example.com", "message": "hi", "n": ' + (
    b"9" * 5000 + b"}"
)


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every case of the battery: nothing logged as an error, no traceback (ours or aiohttp's)."""
    with capture_logs() as events:
        yield
    assert [e for e in events if e.get("log_level") in ("error", "critical", "exception")] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator("Ada@Example.com") as emulator:
        yield emulator


def settings(make_settings: MakeSettings, slack_api: SlackEmulator, url: str | None) -> Any:
    channels = {
        "webform": {"secret": FORM_SECRET},
        "slack": slack_section(slack_api.base_url),
        "twilio": twilio_section(),
    }
    server = {"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL}
    storage = {} if url is None else {"storage": {"url": url}}
    return make_settings(server=server, channels=channels, **storage)


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator) -> Hub:
    return await start_hub(settings(make_settings, slack_api, None))


@pytest.fixture(params=["sqlite", "redis"])
async def any_hub(
    request: pytest.FixtureRequest,
    start_hub: StartHub,
    make_settings: MakeSettings,
    slack_api: SlackEmulator,
) -> Hub:
    url = None if request.param == "sqlite" else str(request.getfixturevalue("redis_url"))
    return await start_hub(settings(make_settings, slack_api, url))


async def send(hub: Hub, method: str, path: str, body: bytes = b"", **headers: str) -> int:
    async with hub.http.request(method, path, data=body, headers=headers) as response:
        await response.read()
        return response.status


def refused(status: int, *allowed: int) -> None:
    assert status < 500 or status == 503, status
    if allowed:
        assert status in allowed, status


async def stored(hub: Hub) -> int:
    return len((await hub.store.list_tickets(TicketFilter())).items)


def twilio_form(path: str, params: list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    headers = {
        "X-Twilio-Signature": signature(PUBLIC_URL + path, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return urlencode(params).encode(), headers


def slack_body(text: str) -> bytes:
    return json.dumps(envelope(message(text))).encode()


def signed(path: str, body: bytes) -> dict[str, str]:
    """The headers that would make `body` pass the route's signature check."""
    if path == FORM:
        return form_headers(body)
    if path == SLACK:
        return slack_headers(body)
    return {
        "X-Twilio-Signature": signature(PUBLIC_URL + path, []),
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.mark.parametrize("path", [*WEBHOOKS, "/api/tickets/1", "/api/customers/1"])
async def test_gzip_that_is_not_gzip_is_a_400(any_hub: Hub, path: str) -> None:
    body = b"this is not gzip at all" * 10
    method = "PATCH" if path.startswith("/api/") else "POST"
    headers = {
        **signed(path, body),
        **(await any_hub.token(Role.ADMIN)),
        "Content-Encoding": "gzip",
    }
    refused(await send(any_hub, method, path, body, **headers), 400, 403)
    assert await stored(any_hub) == 0


NON_ASCII = [
    (FORM, "X-Contacthub-Signature", "sha256=é" + "0" * 63),
    (SLACK, "X-Slack-Signature", "v0=é" + "0" * 63),
    (SMS, "X-Twilio-Signature", "é" * 28),
    (VOICE, "X-Twilio-Signature", "ü" * 28),
]


@pytest.mark.parametrize(("path", "header", "value"), NON_ASCII)
async def test_non_ascii_signatures_are_a_403(
    any_hub: Hub, path: str, header: str, value: str
) -> None:
    body = form_body("f1") if path == FORM else slack_body("hi") if path == SLACK else b"a=b"
    headers = {**signed(path, body), header: value}
    refused(await send(any_hub, "POST", path, body, **headers), 403)
    assert await stored(any_hub) == 0


@pytest.mark.parametrize("stamp", ["²", ARABIC_ONE + ARABIC_ZERO * 9, "9" * 5000])
async def test_a_slack_timestamp_in_other_digits_is_a_403(hub: Hub, stamp: str) -> None:
    body = slack_body("hi")
    headers = {**slack_headers(body), "X-Slack-Request-Timestamp": stamp}
    refused(await send(hub, "POST", SLACK, body, **headers), 403)


@pytest.mark.parametrize("count", ["²", "1" * 5000, "-1"])
async def test_twilio_num_media_in_other_digits_is_a_400(any_hub: Hub, count: str) -> None:
    params = [(k, count if k == "NumMedia" else v) for k, v in sms_params("SM1")]
    body, headers = twilio_form(SMS, params)
    refused(await send(any_hub, "POST", SMS, body, **headers), 400)
    assert await stored(any_hub) == 0


@pytest.mark.parametrize(
    "body",
    [
        form_body("f1", message="\ud800"),
        form_body("f1", name="x\udfff"),
        DEEP,
        HUGE_INT,
    ],
    ids=["surrogate-message", "surrogate-name", "deep", "huge-int"],
)
async def test_form_bodies_that_are_not_text_are_a_400(any_hub: Hub, body: bytes) -> None:
    refused(await send(any_hub, "POST", FORM, body, **form_headers(body)), 400, 413)
    assert await stored(any_hub) == 0


async def test_slack_text_with_a_lone_surrogate_is_kept_repaired_and_flagged(
    any_hub: Hub,
) -> None:
    body = slack_body("refund \ud800 please")
    refused(await send(any_hub, "POST", SLACK, body, **slack_headers(body)), 200)
    ticket = await any_hub.store.get_ticket(1)
    assert ticket.messages[0].body == "refund \ufffd please"
    assert ticket.messages[0].meta["repaired"].startswith("1 lone surrogate")


@pytest.mark.parametrize("body", [DEEP, HUGE_INT], ids=["deep", "huge-int"])
async def test_slack_bodies_nested_deep_or_with_huge_integers_are_a_400(
    hub: Hub, body: bytes
) -> None:
    refused(await send(hub, "POST", SLACK, body, **slack_headers(body)), 400)


QUERIES = [
    "/api/tickets?limit=²",
    "/api/tickets?cursor=²",
    "/api/tickets?cursor=" + "9" * 5000,
    "/api/tickets?customer=²",
    "/api/tickets/²",
    "/api/tickets/" + "9" * 5000,
    "/api/customers?cursor=²",
    "/api/customers?cursor=99999999999999999999999",
    "/api/customers/²",
    "/api/campaigns/²",
    "/api/campaigns/" + "9" * 30,
    "/api/campaigns/1/contacts/" + "9" * 30,
    "/api/campaigns/1/contacts/" + ARABIC_ONE,
    "/api/events?last_event_id=" + "9" * 5000,
    "/api/reports/volume?to=0001-01-01T00:00:00Z",
    "/api/reports/volume?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
    "/api/reports/summary?to=0001-01-02",
    "/api/reports/tickets?from=9999-12-31&tz=Pacific/Kiritimati",
    "/api/reports/summary?tz=" + "x" * 5000,
]


@pytest.mark.parametrize("path", QUERIES)
async def test_numbers_in_other_digits_or_huge_are_a_4xx(any_hub: Hub, path: str) -> None:
    status = await send(any_hub, "GET", path, b"", **(await any_hub.token(Role.ADMIN)))
    refused(status, 400, 404)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/tickets/1", b'{"subject": "\\ud800"}'),
        ("/api/tickets/1", DEEP),
        ("/api/tickets/1", b'{"priority": ' + b"1" * 5000 + b"}"),
        ("/api/customers/1", b'{"name": "\\udc00x"}'),
        ("/api/tickets/1/notes", b'{"body": "\\ud800"}'),
        ("/api/campaigns/1/attempts/" + "9" * 30, b"{}"),
    ],
)
async def test_api_bodies_that_are_not_text_are_a_400(any_hub: Hub, path: str, body: bytes) -> None:
    await any_hub.store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    before = await any_hub.store.get_ticket(1)
    method = "POST" if path.endswith(("notes", "0", "9")) else "PATCH"
    status = await send(any_hub, method, path, body, **(await any_hub.token(Role.ADMIN)))
    refused(status, 400, 404)
    after = await any_hub.store.get_ticket(1)
    assert (after.subject, len(after.messages), after.updated_at) == (
        before.subject, len(before.messages), before.updated_at,
    )  # fmt: skip


@pytest.mark.parametrize(
    "field",
    [
        {"lease": "99999999999w"},
        {"lease": "400d"},
        {"retry": {"no_answer": "999999999999d"}},
        {"retry": {"no_answer": "9999w"}},
        {"ends_at": "9999-12-31T23:59:59Z"},
        {"lease": ARABIC_ONE + ARABIC_ZERO + "m"},
    ],
)
async def test_campaign_durations_past_any_clock_are_a_400(
    any_hub: Hub, field: dict[str, Any]
) -> None:
    body = json.dumps({"name": "spring", "queue": "general", **field}).encode()
    headers = await any_hub.token(Role.ADMIN)
    refused(await send(any_hub, "POST", "/api/campaigns", body, **headers), 400)
    assert not await any_hub.store.list_campaigns()


@pytest.mark.parametrize("escaped", ["%ED%A0%80", "%FF", "%C3"])
async def test_twilio_text_in_broken_percent_escapes_is_kept_replaced(
    any_hub: Hub, escaped: str
) -> None:
    """Twilio signs the form: a byte that is not UTF-8 is read as U+FFFD, never a 500."""
    text = unquote_plus("x" + escaped)  # as Twilio decodes it, and signs it
    params = [(k, text if k == "Body" else v) for k, v in sms_params("SM9")]
    signed_for = signature(PUBLIC_URL + SMS, params)
    body = urlencode([(k, "x" if k == "Body" else v) for k, v in params]).replace(
        "Body=x", f"Body=x{escaped}"
    )
    headers = {
        "X-Twilio-Signature": signed_for,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    refused(await send(any_hub, "POST", SMS, body.encode(), **headers), 200)
    assert "\ufffd" in (await any_hub.store.get_ticket(1)).messages[0].body


RULES_WITH_HOURS = """\
calendars: {office: {timezone: Europe/Berlin, weekly: {mon-fri: "09:00-17:00"}}}
queues: {general: {calendar: office, sla: {first_response: 2h, resolution: 1d}}}
default: {queue: general}
rules: []
"""


@pytest.mark.parametrize(
    "probe",
    [
        {"channel": "form", "at": "0001-01-01T00:00:00Z"},
        {"channel": "form", "at": "9999-12-31T23:59:59Z"},
        {"channel": "form", "at": "0001-01-01T00:00:00Z", "rules": RULES_WITH_HOURS},
        {"channel": "form", "at": "9999-12-31T23:59:59+14:00", "rules": RULES_WITH_HOURS},
        {"channel": "form", "customer": {"open_tickets": 10**30}},
        {"channel": "form", "text": "\ud800"},
    ],
    ids=["year-1", "year-9999", "year-1-hours", "year-9999-hours", "huge-open", "surrogate"],
)
async def test_rule_probes_at_the_ends_of_time_are_not_a_5xx(
    hub: Hub, probe: dict[str, Any]
) -> None:
    body = json.dumps(probe).encode()
    headers = await hub.token(Role.ADMIN)
    expected = 400 if "text" in probe else 200  # a lone surrogate is refused, time is not
    refused(await send(hub, "POST", "/api/rules/test", body, **headers), expected)


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"]
)
async def test_a_callback_past_any_calendar_is_a_400(start_hub: StartHub, when: str) -> None:
    hub = await start_hub(clock=Clock())
    auth = await hub.token(Role.OUTBOUND, "ann")
    campaign = {"name": "spring", "hours": "00:00-24:00", "state": "running"}
    assert await send(hub, "POST", "/api/campaigns", json.dumps(campaign).encode(), **auth) == 201
    csv = {**auth, "Content-Type": "text/csv"}
    assert (
        await send(hub, "POST", "/api/campaigns/spring/contacts", b"phone\n2125550100\n", **csv)
        == 200
    )
    async with hub.http.post("/api/campaigns/spring/next", headers=auth) as response:
        attempt = (await response.json())["attempt_id"]
    body = json.dumps({"outcome": "callback", "callback_at": when}).encode()
    path = f"/api/campaigns/spring/attempts/{attempt}"
    refused(await send(hub, "POST", path, body, **auth), 400)
    ends = json.dumps({"name": "autumn", "ends_at": when}).encode()
    refused(await send(hub, "POST", "/api/campaigns", ends, **auth), 400)
