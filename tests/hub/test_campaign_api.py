"""The campaign API over real HTTP: campaigns, list uploads, next contact, outcomes, stats."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.model import Role
from hub.api.campaigns import SMALL_LIST
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.campaign_support import NOON, Clock

ALL_DAY = {"hours": "00:00-24:00"}  # the campaign's own window: all the law allows
LIST = (
    "phone,name,external_ref,preferred_time\n"
    "(212) 555-0100,Ada,A-1,\n"
    "+1 415 555 0101,Grace,G-1,\n"
    "bad number,Nobody,N-1,\n"
    "2125550100,Ada again,A-2,\n"
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hub(start_hub: StartHub, clock: Clock) -> Hub:
    """The hub at noon on the US's clocks (the tests call New York and San Francisco)."""
    return await start_hub(clock=clock)


async def post(hub: Hub, path: str, headers: dict[str, str], **kwargs: Any) -> tuple[int, Any]:
    async with hub.http.post(path, headers=headers, **kwargs) as response:
        body = await response.json() if response.status != 204 else None
        return response.status, body


async def get(hub: Hub, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with hub.http.get(path, headers=headers) as response:
        return response.status, await response.json()


async def running_campaign(hub: Hub, auth: dict[str, str], name: str = "spring") -> int:
    status, created = await post(hub, "/api/campaigns", auth, json={"name": name, **ALL_DAY})
    assert status == 201, created
    status, _ = await post(hub, f"/api/campaigns/{name}/start", auth)
    assert status == 200
    return int(created["id"])


async def upload(hub: Hub, auth: dict[str, str], key: str | int, text: str) -> dict[str, Any]:
    headers = {**auth, "Content-Type": "text/csv"}
    status, report = await post(hub, f"/api/campaigns/{key}/contacts", headers, data=text.encode())
    assert status == 200, report
    return dict(report)


async def test_a_campaign_takes_the_configured_defaults(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    status, created = await post(hub, "/api/campaigns", auth, json={"name": "spring"})
    assert status == 201
    assert (created["queue"], created["state"], created["hours"]) == (
        "callbacks", "paused", "08:00-21:00",
    )  # fmt: skip
    assert created["retry"] == {"busy": "30m", "failed": "1h", "no_answer": "4h", "voicemail": "1d"}
    assert (created["max_attempts"], created["lease"], created["timezone"]) == (5, "10m", None)
    status, listed = await get(hub, "/api/campaigns", auth)
    assert [c["name"] for c in listed["items"]] == ["spring"]
    for key in (created["id"], "spring"):
        status, found = await get(hub, f"/api/campaigns/{key}", auth)
        assert (status, found["id"]) == (200, created["id"])


async def test_a_campaign_on_a_queue_the_rules_make_inbound_is_refused(hub: Hub) -> None:
    """The embedded rules' `general` is inbound: a campaign's calls would land among the
    customers' tickets. A queue the rules do not name (`callbacks`, the default) is let be."""
    auth = await hub.token(Role.OUTBOUND, "ann")
    body = {"name": "spring", "queue": "general"}
    status, refused = await post(hub, "/api/campaigns", auth, json=body)
    assert status == 400
    assert "'general' is an inbound queue" in refused["error"]
    status, _ = await get(hub, "/api/campaigns/spring", auth)
    assert status == 404  # nothing made
    status, _ = await post(hub, "/api/campaigns", auth, json={**body, "queue": "callbacks"})
    assert status == 201


BAD_CAMPAIGNS = [
    pytest.param({"name": "1st"}, "name", id="name-starts-with-digit"),
    pytest.param({"name": "x", "hours": "21:00-08:00"}, "hours", id="overnight"),
    pytest.param({"name": "x", "timezone": "Mars/Base"}, "timezone", id="zone"),
    pytest.param({"name": "x", "retry": {"answered": "1h"}}, "retry", id="retry"),
    pytest.param({"name": "x", "ends_at": "2026-12-01T00:00:00"}, "ends_at", id="naive-end"),
    pytest.param({"name": "x", "colour": "red"}, "colour", id="unknown-field"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CAMPAIGNS)
async def test_unusable_campaigns_are_refused_naming_the_field(
    hub: Hub, body: dict[str, Any], field: str
) -> None:
    auth = await hub.token(Role.OUTBOUND)
    status, answer = await post(hub, "/api/campaigns", auth, json=body)
    assert status == 400
    assert field in answer["error"]


async def test_who_may_run_campaigns(hub: Hub) -> None:
    agent, supervisor = await hub.token(Role.AGENT), await hub.token(Role.SUPERVISOR)
    status, _ = await post(hub, "/api/campaigns", agent, json={"name": "spring"})
    assert status == 403
    status, _ = await post(hub, "/api/campaigns", supervisor, json={"name": "spring"})
    assert status == 201
    status, _ = await post(hub, "/api/campaigns", supervisor, json={"name": "spring"})
    assert status == 409
    assert (await get(hub, "/api/campaigns/spring/stats", agent))[0] == 200
    assert (await post(hub, "/api/campaigns/spring/next", agent))[0] == 403
    assert (await get(hub, "/api/campaigns/nope", agent))[0] == 404


async def test_an_uploaded_list_is_reported_row_by_row(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND)
    campaign = await running_campaign(hub, auth)
    report = await upload(hub, auth, campaign, LIST)
    assert (report["rows"], report["accepted"], report["invalid"]) == (4, 2, 1)
    assert report["duplicates"] == {"in_list": 1, "in_campaign": 0}
    assert report["problems"] == [
        {"line": 4, "kind": "invalid", "reason": "not a phone number: 'bad number'"},
        {"line": 5, "kind": "duplicate", "reason": "in the list", "phone": "+12125550100"},
    ]
    again = await upload(hub, auth, "spring", LIST)
    assert (again["accepted"], again["duplicates"]["in_campaign"]) == (0, 3)


async def test_a_list_past_one_batch_is_normalised_on_the_pool_and_reported_whole(
    hub: Hub,
) -> None:
    """Over 256 KiB an upload's rows go to the process pool ([campaigns] workers), in
    batches of 5,000; under it, a thread (the test above): each reports every row."""
    auth = await hub.token(Role.OUTBOUND)
    campaign = await running_campaign(hub, auth)
    rows = [f"212555{n:04d},Customer number {n:04d},REF-{n:05d}" for n in range(10_000)]
    text = "phone,name,reference\n" + "\n".join([*rows, "not a number,X,Y"]) + "\n"
    assert len(text.encode()) > SMALL_LIST
    report = await upload(hub, auth, campaign, text)
    assert (report["rows"], report["accepted"], report["invalid"]) == (10_001, 10_000, 1)
    assert report["problems"] == [
        {"line": 10_002, "kind": "invalid", "reason": "not a phone number: 'not a number'"}
    ]


async def test_an_upload_names_its_columns_or_fails_whole(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND)
    await running_campaign(hub, auth)
    headers = {**auth, "Content-Type": "text/csv"}
    status, answer = await post(
        hub, "/api/campaigns/spring/contacts", headers, data=b"who;cell\nAda;2125550100\n"
    )
    assert (status, answer["error"]) == (
        400,
        "line 1: no phone column in the header (who, cell); nothing was loaded",
    )
    status, report = await post(
        hub, "/api/campaigns/spring/contacts?map=phone:cell&map=name:who", headers,
        data=b"who;cell\nAda;2125550100\n",
    )  # fmt: skip
    assert (status, report["accepted"]) == (200, 1)


async def test_next_hands_a_contact_with_its_attempt_and_outcomes_follow_the_policy(
    hub: Hub,
) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone,name\n2125550100,Ada\n")
    status, lease = await post(hub, "/api/campaigns/spring/next", auth)
    assert status == 200
    contact = lease["contact"]
    assert (contact["phone"], contact["name"], contact["state"]) == (
        "+12125550100",
        "Ada",
        "leased",
    )
    assert contact["time_zones"] == ["America/New_York"]
    assert (await post(hub, "/api/campaigns/spring/next", auth))[0] == 204
    path = f"/api/campaigns/spring/attempts/{lease['attempt_id']}"
    status, moved = await post(hub, path, auth, json={"outcome": "busy", "note": "engaged"})
    assert status == 200
    assert (moved["state"], moved["attempts"], moved["last_outcome"]) == ("queued", 1, "busy")
    due = datetime.fromisoformat(moved["next_at"])
    assert due - NOON == timedelta(minutes=30)
    status, answer = await post(hub, path, auth, json={"outcome": "answered"})
    assert (status, answer["error"]) == (
        409,
        f"attempt {lease['attempt_id']} is closed: its outcome is recorded",
    )
    status, history = await get(hub, f"/api/campaigns/spring/contacts/{contact['id']}", auth)
    assert [(a["agent"], a["outcome"], a["note"]) for a in history["attempts_made"]] == [
        ("ann", "busy", "engaged"),
    ]


async def test_a_callback_time_and_an_agents_do_not_call(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n4155550101\n")
    first = (await post(hub, "/api/campaigns/spring/next", auth))[1]
    second = (await post(hub, "/api/campaigns/spring/next", auth))[1]
    when = NOON + timedelta(days=1)
    body = {"outcome": "callback_at", "callback_at": when.isoformat()}
    status, moved = await post(
        hub, f"/api/campaigns/spring/attempts/{first['attempt_id']}", auth, json=body
    )
    assert (status, moved["state"], datetime.fromisoformat(moved["next_at"])) == (
        200,
        "queued",
        when,
    )
    path = f"/api/campaigns/spring/attempts/{second['attempt_id']}"
    status, moved = await post(hub, path, auth, json={"outcome": "do_not_call"})
    assert (status, moved["state"]) == (200, "suppressed")
    status, entry = await get(hub, f"/api/do-not-call/{second['contact']['phone']}", auth)
    assert (status, entry["source"]) == (200, "agent:ann")


BAD_OUTCOMES = [
    pytest.param({"outcome": "maybe"}, "outcome", id="unknown"),
    pytest.param({"outcome": "expired"}, "outcome", id="system-only"),
    pytest.param({"outcome": "callback"}, "callback_at", id="callback-without-time"),
    pytest.param(
        {"outcome": "callback", "callback_at": "2020-01-01T00:00:00Z"}, "future", id="past"
    ),
    pytest.param({"outcome": "busy", "extra": 1}, "extra", id="unknown-field"),
]


@pytest.mark.parametrize(("body", "message"), BAD_OUTCOMES)
async def test_unusable_outcomes_are_refused(hub: Hub, body: dict[str, Any], message: str) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n")
    lease = (await post(hub, "/api/campaigns/spring/next", auth))[1]
    path = f"/api/campaigns/spring/attempts/{lease['attempt_id']}"
    status, answer = await post(hub, path, auth, json=body)
    assert status == 400
    assert message in answer["error"]


async def test_only_the_agent_holding_the_attempt_records_it(hub: Hub) -> None:
    ann, bob = await hub.token(Role.OUTBOUND, "ann"), await hub.token(Role.OUTBOUND, "bob")
    supervisor = await hub.token(Role.SUPERVISOR, "sue")
    await running_campaign(hub, ann)
    await upload(hub, ann, "spring", "phone\n2125550100\n")
    lease = (await post(hub, "/api/campaigns/spring/next", ann))[1]
    path = f"/api/campaigns/spring/attempts/{lease['attempt_id']}"
    assert (await post(hub, path, bob, json={"outcome": "busy"}))[0] == 403
    assert (await post(hub, path, supervisor, json={"outcome": "answered"}))[0] == 200
    other = await running_campaign(hub, ann, "autumn")
    wrong = f"/api/campaigns/{other}/attempts/{lease['attempt_id']}"
    assert (await post(hub, wrong, ann, json={"outcome": "busy"}))[0] == 404


async def test_many_agents_at_once_each_get_a_different_contact(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND, "team")
    await running_campaign(hub, auth)
    numbers = [f"212555{n:04d}" for n in range(10)]
    await upload(hub, auth, "spring", "phone\n" + "\n".join(numbers) + "\n")
    answers = await asyncio.gather(
        *(post(hub, "/api/campaigns/spring/next", auth) for _ in range(25))
    )
    handed = [body["contact"]["phone"] for status, body in answers if status == 200]
    assert sorted(handed) == sorted(f"+1{n}" for n in numbers)
    assert [status for status, _ in answers].count(204) == 15


async def test_paused_stopped_and_ended_campaigns_say_so_with_409(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND)
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n")
    assert (await post(hub, "/api/campaigns/spring/pause", auth))[1]["state"] == "paused"
    assert await post(hub, "/api/campaigns/spring/next", auth) == (
        409, {"error": "campaign 'spring' is paused", "state": "paused"},
    )  # fmt: skip
    assert (await post(hub, "/api/campaigns/spring/stop", auth))[1]["state"] == "stopped"
    status, answer = await post(hub, "/api/campaigns/spring/next", auth)
    assert (status, answer["state"]) == (409, "stopped")
    status, _answer = await post(hub, "/api/campaigns/spring/start", auth)
    assert status == 409
    ended = {"name": "ended", "ends_at": "2020-01-01T00:00:00Z", "state": "running", **ALL_DAY}
    assert (await post(hub, "/api/campaigns", auth, json=ended))[0] == 201
    await upload(hub, auth, "ended", "phone\n2125550100\n")
    status, answer = await post(hub, "/api/campaigns/ended/next", auth)
    assert (status, answer["state"]) == (409, "ended")
    status, stats = await get(hub, "/api/campaigns/ended/stats", auth)
    assert (stats["ended"], stats["next_window_opening"]) == (True, None)


async def test_stats_count_states_outcomes_and_what_is_callable(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n4155550101\n3125550102\n")
    for outcome in ("answered", "no_answer"):
        lease = (await post(hub, "/api/campaigns/spring/next", auth))[1]
        path = f"/api/campaigns/spring/attempts/{lease['attempt_id']}"
        assert (await post(hub, path, auth, json={"outcome": outcome}))[0] == 200
    status, stats = await get(hub, "/api/campaigns/spring/stats", auth)
    assert status == 200
    assert stats["contacts"] == 3
    assert stats["by_state"] == {"completed": 1, "queued": 2}
    assert stats["by_outcome"] == {"answered": 1, "no_answer": 1}
    assert stats["attempts_per_contact"] == {"0": 1, "1": 2}
    assert (stats["attempts"], stats["contact_rate"], stats["callable_now"]) == (2, 0.5, 1)


async def test_a_do_not_call_upload_suppresses_queued_contacts(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n4155550101\n")
    headers = {**auth, "Content-Type": "text/plain"}
    status, report = await post(
        hub, "/api/do-not-call?source=state%20registry", headers,
        data=b"(212) 555-0100\n415.555.0101\nnope\n",
    )  # fmt: skip
    assert (status, report["added"], report["invalid"]) == (200, 2, 1)
    assert report["source"] == "state registry"
    assert (await post(hub, "/api/campaigns/spring/next", auth))[0] == 204
    status, stats = await get(hub, "/api/campaigns/spring/stats", auth)
    assert stats["by_state"] == {"suppressed": 2}
    assert (await get(hub, "/api/do-not-call/2125550199", auth))[0] == 404
    assert (await get(hub, "/api/do-not-call/hello", auth))[0] == 400


async def test_the_openapi_document_describes_the_campaign_api(hub: Hub) -> None:
    async with hub.http.get("/api/openapi.json") as response:
        paths = (await response.json())["paths"]
    for path in (
        "/api/campaigns", "/api/campaigns/{id}", "/api/campaigns/{id}/contacts",
        "/api/campaigns/{id}/next", "/api/campaigns/{id}/attempts/{attempt_id}",
        "/api/campaigns/{id}/stats", "/api/do-not-call", "/api/campaigns/{id}/dial",
        "/api/campaigns/{id}/agents/me",
    ):  # fmt: skip
        assert path in paths


async def test_outside_the_window_nothing_is_handed_out_and_stats_say_when(hub: Hub) -> None:
    """Holidays around today (New York's date) keep the window shut until the day after."""
    auth = await hub.token(Role.OUTBOUND, "ann")
    today = NOON.astimezone(ZoneInfo("America/New_York")).date()
    holidays = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]
    body = {"name": "spring", "state": "running", "holidays": holidays, **ALL_DAY}
    assert (await post(hub, "/api/campaigns", auth, json=body))[0] == 201
    await upload(hub, auth, "spring", "phone\n2125550100\n")
    assert (await post(hub, "/api/campaigns/spring/next", auth))[0] == 204
    status, stats = await get(hub, "/api/campaigns/spring/stats", auth)
    assert (status, stats["callable_now"], stats["by_state"]) == (200, 0, {"queued": 1})
    opening = datetime.fromisoformat(stats["next_window_opening"])
    assert opening.astimezone(ZoneInfo("America/New_York")).date() == today + timedelta(days=2)


async def test_outside_the_legal_hours_next_is_204_with_when_to_ask_again(
    hub: Hub, clock: Clock
) -> None:
    """hours 00:00-24:00 once handed out a number at 02:50 the callee's time."""
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n")
    new_york = ZoneInfo("America/New_York")
    clock.now = datetime(2036, 6, 12, 2, 50, tzinfo=new_york)
    async with hub.http.post("/api/campaigns/spring/next", headers=auth) as response:
        assert response.status == 204
        assert response.headers["Retry-After"] == str(5 * 3600 + 10 * 60)
        opening = datetime.fromisoformat(response.headers["Next-Window-Opening"])
    assert opening == datetime(2036, 6, 12, 8, 0, tzinfo=new_york)
    clock.now = opening
    status, lease = await post(hub, "/api/campaigns/spring/next", auth)
    assert (status, lease["contact"]["local_time"]) == (200, "2036-06-12T08:00-04:00")


async def test_a_supervisor_takes_a_number_off_the_do_not_call_list_saying_why(hub: Hub) -> None:
    sue, ann = await hub.token(Role.SUPERVISOR, "sue"), await hub.token(Role.OUTBOUND, "ann")
    headers = {**sue, "Content-Type": "text/plain"}
    await post(hub, "/api/do-not-call?source=registry", headers, data=b"2125550100\n")
    why = {"reason": "listed by mistake"}
    async with hub.http.delete("/api/do-not-call/2125550100", headers=ann, json=why) as response:
        assert response.status == 403
    async with hub.http.delete("/api/do-not-call/2125550100", headers=sue, json={}) as response:
        assert (response.status, "reason" in (await response.json())["error"]) == (400, True)
    async with hub.http.delete("/api/do-not-call/2125550100", headers=sue, json=why) as response:
        removal = await response.json()
        assert response.status == 200
    assert (removal["phone"], removal["source"], removal["removed_by"], removal["reason"]) == (
        "+12125550100", "registry", "sue", "listed by mistake",
    )  # fmt: skip
    assert datetime.fromisoformat(removal["removed_at"]) == NOON
    status, answer = await get(hub, "/api/do-not-call/2125550100", ann)
    assert (status, [r["removed_by"] for r in answer["removals"]]) == (404, ["sue"])
    async with hub.http.delete("/api/do-not-call/2125550100", headers=sue, json=why) as response:
        assert response.status == 404
    await running_campaign(hub, ann)
    report = await upload(hub, ann, "spring", "phone\n2125550100\n")
    assert (report["accepted"], report["suppressed"]) == (1, 0)


async def test_only_the_operators_config_lifts_the_legal_hours(
    start_hub: StartHub, make_settings: MakeSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    """allow_outside_legal_hours is the config's, said at start; then 02:50 is callable."""
    night = Clock(datetime(2036, 6, 12, 2, 50, tzinfo=ZoneInfo("America/New_York")))
    hub = await start_hub(make_settings(campaigns={"allow_outside_legal_hours": True}), clock=night)
    assert "calling_hours_unrestricted" in capsys.readouterr().out
    auth = await hub.token(Role.OUTBOUND, "ann")
    await running_campaign(hub, auth)
    await upload(hub, auth, "spring", "phone\n2125550100\n")
    status, lease = await post(hub, "/api/campaigns/spring/next", auth)
    assert (status, lease["contact"]["local_time"]) == (200, "2036-06-12T02:50-04:00")
    status, answer = await post(
        hub, "/api/campaigns", auth, json={"name": "x", "allow_outside_legal_hours": True}
    )
    assert (status, "allow_outside_legal_hours" in answer["error"]) == (400, True)
