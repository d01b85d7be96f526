"""Provider-linked attachments over real HTTP: a Slack file and a Twilio MMS picture the hub
only links to are fetched from the provider (local emulators of Slack's files and Twilio's
media) with the channel's credentials when an agent opens them, and served with the same
safety headers as kept bytes; the credentials go to the provider and nowhere else; on both
stores."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from core.model import Role
from hub.demo.slack_emulator import SlackEmulator
from hub.settings.tree import Settings
from tests.conftest import Hub, MakeSettings, StartHub
from tests.slack_support import (
    body_of,
    message,
    slack_emulator,
    slack_headers,
    slack_section,
)
from tests.twilio_emulator import TwilioEmulator
from tests.twilio_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OLD_AUTH_TOKEN,
    PUBLIC_URL,
    post_twilio,
    sms_params,
    twilio_section,
)

BOTH_STORES = True
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PAGE = b"<script>fetch('/api/tickets').then(r => r.text()).then(steal)</script>"
SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, no-store",
}
MMS_SID = "MM" + "0" * 32


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator(None) as emulator:
        yield emulator


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN)
    await emulator.start()
    yield emulator
    await emulator.close()


def provider_settings(
    make_settings: MakeSettings,
    slack_api: SlackEmulator,
    twilio_api: TwilioEmulator,
    slack: dict[str, Any] | None = None,
    **twilio: Any,
) -> Settings:
    """A hub with Slack and Twilio on the emulators; a provider's file comes within 1 s."""
    files = {"file_timeout": 1.0}
    return make_settings(
        server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
        channels={
            "slack": slack_section(slack_api.base_url, **files, **(slack or {})),
            "twilio": twilio_section(api_base=twilio_api.base_url, **files, **twilio),
        },
    )


@pytest.fixture
async def hub(
    start_hub: StartHub,
    make_settings: MakeSettings,
    slack_api: SlackEmulator,
    twilio_api: TwilioEmulator,
) -> Hub:
    return await start_hub(provider_settings(make_settings, slack_api, twilio_api))


@dataclass(frozen=True, slots=True)
class Seen:
    """A customer's message with files as an agent sees it, and the agent's auth header."""

    ticket_id: int
    message: dict[str, Any]
    auth: str

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.message["attachments"])

    def path(self, n: int) -> str:
        return f"/api/tickets/{self.ticket_id}/messages/{self.message['id']}/attachments/{n}"

    async def open(self, hub: Hub, n: int) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": self.auth}
        async with hub.http.get(self.path(n), headers=headers) as response:
            return response.status, dict(response.headers), await response.read()

    async def refusal(self, hub: Hub, n: int) -> tuple[int, str]:
        status, headers, body = await self.open(hub, n)
        assert headers["Content-Type"].startswith("application/json")
        return status, str(json.loads(body)["error"])


async def shared_on_slack(hub: Hub, *files: dict[str, Any]) -> Seen:
    """A Slack message sharing `files`, as an agent sees it."""
    body = body_of(message("see attached", subtype="file_share", files=list(files)))
    async with hub.http.post(
        "/webhooks/slack/events", data=body, headers=slack_headers(body)
    ) as response:
        assert response.status == 200
        return await seen(hub, (await response.json())["ticket_id"])


async def sent_by_mms(hub: Hub, media: list[tuple[str, str]], token: str = AUTH_TOKEN) -> Seen:
    """An MMS with `media` (URLs and types), as an agent sees it."""
    params = sms_params(MMS_SID, "photo", media=media)
    status, _ = await post_twilio(hub, "/webhooks/twilio/sms", params, token=token)
    assert status == 200
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.get("/api/tickets?channel=sms", headers=auth) as response:
        [ticket] = (await response.json())["items"]
    return await seen(hub, ticket["id"])


async def seen(hub: Hub, ticket_id: int) -> Seen:
    auth = await hub.token(Role.AGENT, "ann")
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=auth) as response:
        first = (await response.json())["messages"][0]
    return Seen(ticket_id, first, auth["Authorization"])


async def test_a_slack_file_opens_through_the_hub_with_the_bot_token_and_never_runs_here(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    png = slack_api.add_file("F1", "photo.png", "image/png", PNG)
    page = slack_api.add_file("F2", "page.html", "text/html", PAGE)
    shared = await shared_on_slack(hub, png, page)
    found = shared.attachments
    assert [a["url"] for a in found] == [png["url_private"], page["url_private"]]
    assert [a["download"] for a in found] == [shared.path(0), shared.path(1)]
    assert [a["sha256"] for a in found] == [None, None]  # nothing kept: the bytes pass through
    expected = [(PNG, "image/png", "inline"), (PAGE, "text/html", "attachment")]
    for n, (data, kind, disposition) in enumerate(expected):
        status, headers, body = await shared.open(hub, n)
        assert (status, body, headers["Content-Type"]) == (200, data, kind)
        assert headers["Content-Disposition"].startswith(f"{disposition}; filename=")
        assert {key: headers[key] for key in SAFE} == SAFE
    assert [(r.path, r.authorized) for r in slack_api.file_requests] == [
        ("/files-pri/T0HUB-F1/photo.png", True),
        ("/files-pri/T0HUB-F2/page.html", True),
    ]


async def test_a_twilio_mms_picture_opens_through_the_hub_and_the_auth_stays_with_twilio(
    hub: Hub, twilio_api: TwilioEmulator
) -> None:
    url = twilio_api.add_media(MMS_SID, "image/png", PNG)
    sent = await sent_by_mms(hub, [(url, "image/png")])
    [picture] = sent.attachments
    assert (picture["url"], picture["download"]) == (url, sent.path(0))
    status, headers, body = await sent.open(hub, 0)
    assert (status, body, headers["Content-Type"]) == (200, PNG, "image/png")
    assert headers["Content-Disposition"].startswith("inline; filename=")
    assert {key: headers[key] for key in SAFE} == SAFE
    api, cdn = twilio_api.media_requests  # Twilio's 307 to its CDN was followed ...
    assert (api.host, api.authorization.startswith("Basic ")) == (url.split("/")[2], True)
    assert (cdn.host.split(":")[0], cdn.authorization) == ("localhost", "")  # ... without auth


async def test_a_link_to_another_host_is_refused_before_any_request(
    hub: Hub, slack_api: SlackEmulator, twilio_api: TwilioEmulator
) -> None:
    """Both emulators answer as `localhost` too: a link there is to another host, never
    fetched, with the channel's credentials or without."""
    elsewhere = slack_api.add_file("F1", "photo.png", "image/png", PNG)
    elsewhere["url_private"] = elsewhere["url_private"].replace("127.0.0.1", "localhost")
    media = twilio_api.add_media(MMS_SID, "image/png", PNG).replace("127.0.0.1", "localhost")
    shared, sent = await shared_on_slack(hub, elsewhere), await sent_by_mms(hub, [(media, "")])
    for seen_there, owner in ((shared, "slack"), (sent, "twilio")):
        assert seen_there.attachments[0]["download"] is None  # the page links the provider
        status, error = await seen_there.refusal(hub, 0)
        assert status == 404
        assert "a link to a host that is not the provider's" in error
        assert f"the hub sends {owner}'s credentials only to" in error
    assert [r for r in slack_api.requests if "/api/" not in r] == []  # but its Web API
    assert twilio_api.requests == []


@pytest.mark.parametrize(
    ("provider", "trouble", "expected"),
    [
        ("slack", "gone", (404, "the provider no longer has the file (slack answered 404)")),
        ("slack", "error", (502, "slack answered 500 for the file")),
        ("slack", "silent", (502, "slack did not answer for the file: no answer within 1 s")),
        ("twilio", "gone", (404, "the provider no longer has the file (twilio answered 404)")),
        ("twilio", "error", (502, "twilio answered 500 for the file")),
        ("twilio", "silent", (502, "twilio did not answer for the file: no answer within 1 s")),
    ],
    ids=["slack-gone", "slack-500", "slack-timeout", "twilio-gone", "twilio-500", "twilio-timeout"],
)
async def test_a_provider_that_fails_is_a_404_or_502_saying_why(
    hub: Hub,
    slack_api: SlackEmulator,
    twilio_api: TwilioEmulator,
    provider: str,
    trouble: str,
    expected: tuple[int, str],
) -> None:
    if provider == "slack":
        file = slack_api.add_file("F1", "photo.png", "image/png", PNG)
        if trouble == "gone":
            slack_api.files.clear()  # deleted in Slack since
        elif trouble == "error":
            slack_api.fail("files", status=500)
        else:
            slack_api.stall_files()
        linked = await shared_on_slack(hub, file)
    else:
        url = twilio_api.add_media(MMS_SID, "image/png", PNG)
        if trouble == "gone":
            twilio_api.media.clear()
        elif trouble == "error":
            twilio_api.fail_media(500)
        else:
            twilio_api.stall_media()
        linked = await sent_by_mms(hub, [(url, "image/png")])
    assert linked.attachments[0]["download"] == linked.path(0)
    status, error = await linked.refusal(hub, 0)
    assert status == expected[0]
    assert expected[1] in error


async def test_credentials_the_provider_refuses_are_a_502_saying_what_to_check(
    start_hub: StartHub,
    make_settings: MakeSettings,
    slack_api: SlackEmulator,
    twilio_api: TwilioEmulator,
) -> None:
    """Slack sends a token it refuses to its sign-in page (never followed); Twilio says 401."""
    settings = provider_settings(
        make_settings,
        slack_api,
        twilio_api,
        {"bot_token": "xoxb-revoked"},
        auth_token=OLD_AUTH_TOKEN,
    )
    hub = await start_hub(settings)
    shared = await shared_on_slack(hub, slack_api.add_file("F1", "a.png", "image/png", PNG))
    sent = await sent_by_mms(
        hub, [(twilio_api.add_media(MMS_SID, "image/png", PNG), "")], token=OLD_AUTH_TOKEN
    )
    status, error = await shared.refusal(hub, 0)
    assert (status, "a redirect (to sign in)" in error, "files:read" in error) == (502, True, True)
    status, error = await sent.refusal(hub, 0)
    assert status == 502
    assert error.startswith("twilio refused the hub's credentials for the file (401)")
    assert "GET /" not in slack_api.requests  # the sign-in page is not followed


async def test_a_file_over_max_file_bytes_is_a_502_or_cut_when_its_length_is_not_said(
    start_hub: StartHub,
    make_settings: MakeSettings,
    slack_api: SlackEmulator,
    twilio_api: TwilioEmulator,
) -> None:
    limits = {"max_file_bytes": 1024}
    settings = provider_settings(make_settings, slack_api, twilio_api, limits, **limits)
    hub = await start_hub(settings)
    shared = await shared_on_slack(hub, slack_api.add_file("F1", "a.png", "image/png", PNG))
    status, error = await shared.refusal(hub, 0)
    assert status == 502
    assert error == f"the file is {len(PNG)} bytes, over channels.slack.max_file_bytes (1024)"
    twilio_api.chunked = True  # the CDN sends no Content-Length: the hub counts as it passes
    sent = await sent_by_mms(hub, [(twilio_api.add_media(MMS_SID, "image/png", PNG), "")])
    with capture_logs() as logs, pytest.raises(aiohttp.ClientPayloadError):
        await sent.open(hub, 0)  # the agent's download fails: never a truncated file
    [cut] = [log for log in logs if log["event"] == "provider_file_cut"]
    assert (cut["provider"], cut["reason"]) == ("twilio", "over max_file_bytes (1024)")


async def test_a_hub_without_the_channel_configured_keeps_only_the_link(
    start_hub: StartHub, hub: Hub, slack_api: SlackEmulator, twilio_api: TwilioEmulator
) -> None:
    """Another hub on the same store, with neither [channels.slack] nor [channels.twilio]."""
    shared = await shared_on_slack(hub, slack_api.add_file("F1", "a.png", "image/png", PNG))
    sent = await sent_by_mms(hub, [(twilio_api.add_media(MMS_SID, "image/png", PNG), "")])
    bare = await start_hub()
    for linked in (await seen(bare, shared.ticket_id), await seen(bare, sent.ticket_id)):
        assert linked.attachments[0]["download"] is None
        status, error = await linked.refusal(bare, 0)
        assert status == 404
        assert "a provider's file the hub only links to (its url)" in error
    assert [r for r in slack_api.requests if "files-pri" in r] == []
    assert [r for r in twilio_api.requests if r.startswith("GET ")] == []
