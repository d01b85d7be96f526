"""The dialer against the local Twilio emulator: agent-first bridging, progressive dialing,
outcomes from signed status callbacks (once), AMD to voicemail, and the checks made at dial
time: the hours, the do-not-call list, one dial of a contact at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.campaigns import CallOutcome
from core.model import Role
from hub.demo.twilio_calls import Callee, CallsEmulator, EmulatedCall
from hub.wiring.dialer import DIALER
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.campaign_support import Clock
from tests.support import FORM_SECRET
from tests.twilio_emulator import TwilioEmulator
from tests.twilio_support import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, call_params, post_twilio

CALLER_ID = "+12125550000"
ANN, BOB, CY = "+12125550191", "+12125550192", "client:cy"
ADA, GRACE, ALAN = "+12125550100", "+12125550101", "+12125550102"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(params=["sqlite", "redis"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores: every check at dial time is one atomic step on each."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
async def emulator() -> AsyncIterator[TwilioEmulator]:
    running = TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN)
    yield running
    await running.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, emulator: TwilioEmulator, clock: Clock
) -> Hub:
    api_base = await emulator.start()
    twilio = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base": api_base}
    settings = make_settings(
        server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
        channels={"webform": {"secret": FORM_SECRET}, "twilio": twilio},
        campaigns={"caller_id": CALLER_ID, "dial_tick": "1h", "hours": "00:00-24:00"},
    )
    started = await start_hub(settings, clock=clock)
    emulator.voice.deliver = lambda url: url.replace(PUBLIC_URL, started.base_url)
    return started


async def post(hub: Hub, path: str, auth: dict[str, str], **kwargs: Any) -> tuple[int, Any]:
    async with hub.http.post(path, headers=auth, **kwargs) as response:
        return response.status, await response.json() if response.status != 204 else None


async def campaign(hub: Hub, auth: dict[str, str], numbers: list[str], **policy: Any) -> None:
    body = {"name": "spring", "state": "running", **policy}
    assert (await post(hub, "/api/campaigns", auth, json=body))[0] == 201
    rows = "".join(f"{number},Customer {i}\n" for i, number in enumerate(numbers))
    headers = {**auth, "Content-Type": "text/csv"}
    status, report = await post(
        hub, "/api/campaigns/spring/contacts", headers, data=("phone,name\n" + rows).encode()
    )
    assert (status, report["accepted"]) == (200, len(numbers)), report


async def ready(hub: Hub, auth: dict[str, str], endpoint: str, *, is_ready: bool = True) -> None:
    body = {"endpoint": endpoint, "ready": is_ready}
    async with hub.http.put("/api/campaigns/spring/agents/me", headers=auth, json=body) as answer:
        assert answer.status == 200, await answer.text()


async def settle(hub: Hub, voice: CallsEmulator) -> None:
    """Until the hub has placed every dial it started and every call ran its course."""
    progressive = hub.app[DIALER]
    assert progressive is not None
    for _ in range(50):
        await progressive.idle()
        await voice.settled()
        if not voice.running:
            await progressive.idle()
            if not voice.running:
                return
    raise AssertionError("the dialer never settled")


async def history(hub: Hub, auth: dict[str, str], phone: str) -> dict[str, Any]:
    campaign_id = (await hub.store.get_campaign("spring")).id
    for contact_id in range(1, 50):
        try:
            found = await hub.store.get_contact(contact_id)
        except Exception:  # noqa: BLE001  # past the last contact
            break
        if found.contact.phone == phone and found.contact.campaign_id == campaign_id:
            async with hub.http.get(
                f"/api/campaigns/spring/contacts/{contact_id}", headers=auth
            ) as response:
                return dict(await response.json())
    raise AssertionError(f"no contact {phone}")


async def stats(hub: Hub, auth: dict[str, str]) -> dict[str, Any]:
    async with hub.http.get("/api/campaigns/spring/stats", headers=auth) as response:
        return dict(await response.json())


def only(calls: list[EmulatedCall]) -> EmulatedCall:
    assert len(calls) == 1, calls
    return calls[0]


async def test_agent_first_rings_the_agent_then_bridges_the_next_contact(
    hub: Hub, emulator: TwilioEmulator
) -> None:
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA])
    status, answer = await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": ANN})
    assert (status, answer["agent"], answer["endpoint"]) == (202, "ann", ANN)
    await settle(hub, emulator.voice)
    agent_call, contact_call = only(emulator.voice.to(ANN)), only(emulator.voice.to(ADA))
    assert agent_call.sid == answer["call_sid"]
    room = f"dial-{agent_call.sid}"
    assert "Calling Customer 0." in agent_call.twiml[0]
    assert f">{room}</Conference>" in agent_call.twiml[0]
    assert f">{room}</Conference>" in contact_call.twiml[0]  # the contact joins the agent
    assert contact_call.from_ == CALLER_ID
    assert contact_call.events == {"completed"}  # the end is all the dialer needs to hear
    contact = await history(hub, ann, ADA)
    (attempt,) = contact["attempts_made"]
    assert (attempt["agent"], attempt["call_sid"], attempt["outcome"]) == (
        "ann", contact_call.sid, "answered",
    )  # fmt: skip
    assert contact["state"] == "completed"
    # The agent adds what the conversation came to; once.
    path = f"/api/campaigns/spring/attempts/{attempt['id']}"
    status, moved = await post(hub, path, ann, json={"outcome": "resolved", "note": "paid"})
    assert (status, moved["state"], moved["last_outcome"]) == (200, "completed", "resolved")
    assert (await post(hub, path, ann, json={"outcome": "resolved"}))[0] == 409
    assert (await stats(hub, ann))["by_outcome"] == {"resolved": 1}


async def test_an_answered_call_takes_only_a_conversational_outcome(
    hub: Hub, emulator: TwilioEmulator
) -> None:
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA])
    await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": ANN})
    await settle(hub, emulator.voice)
    (attempt,) = (await history(hub, ann, ADA))["attempts_made"]
    path = f"/api/campaigns/spring/attempts/{attempt['id']}"
    status, answer = await post(hub, path, ann, json={"outcome": "busy"})
    assert (status, "the call was answered" in answer["error"]) == (400, True)
    status, moved = await post(hub, path, ann, json={"outcome": "do_not_call"})
    assert (status, moved["state"]) == (200, "suppressed")
    assert (await hub.store.get_do_not_call(ADA)) is not None


async def test_progressive_dialing_for_three_agents(hub: Hub, emulator: TwilioEmulator) -> None:
    """Each ready agent gets one call at a time; a conversation ends in wrap-up, an
    unanswered call goes straight on to the next contact."""
    voice = emulator.voice
    numbers = [f"+1212555{n:04d}" for n in range(110, 116)]
    for number in numbers[:3]:
        voice.callees[number] = Callee(hold=True)
    voice.callees[numbers[3]] = Callee("no-answer")
    sue = await hub.token(Role.SUPERVISOR, "sue")
    await campaign(hub, sue, numbers, dialer="progressive")
    agents = {name: await hub.token(Role.OUTBOUND, name) for name in ("ann", "bob", "cy")}
    for count, (auth, endpoint) in enumerate(zip(agents.values(), (ANN, BOB, CY), strict=True)):
        await ready(hub, auth, endpoint)
        await settle(hub, voice)
        assert len(voice.calls) == count + 1  # one call for each ready agent, at once
    held = voice.calls[:3]
    assert sorted(call.to for call in held) == numbers[:3]
    bridged = " ".join(twiml for call in held for twiml in call.twiml)
    for endpoint in (f">{ANN}</Number>", f">{BOB}</Number>", ">cy</Client>"):
        assert endpoint in bridged
    # Ann's customer hangs up: Ann wraps up and nothing is dialled for her until she is ready.
    ann_call = next(call for call in held if f">{ANN}<" in call.twiml[0])
    voice.hang_up(ann_call.sid)
    await settle(hub, voice)
    assert len(voice.calls) == 3
    assert (await hub.store.get_dialer_agent("ann")).ready is False
    await ready(hub, agents["ann"], ANN)
    await settle(hub, voice)
    # The next (no answer) and the one after it, for Ann: she stayed ready through the first,
    # and wraps up after the second, a conversation.
    assert [call.to for call in voice.calls[3:]] == [numbers[3], numbers[4]]
    assert (await stats(hub, sue))["by_outcome"] == {"answered": 2, "no_answer": 1}
    assert (await hub.store.get_dialer_agent("ann")).ready is False


STATUS_OUTCOMES = [
    pytest.param(Callee("human"), "answered", "completed", id="answered"),
    pytest.param(Callee("no-answer"), "no_answer", "queued", id="no-answer"),
    pytest.param(Callee("busy"), "busy", "queued", id="busy"),
    pytest.param(Callee("failed"), "failed", "queued", id="failed"),
]


@pytest.mark.parametrize(("callee", "outcome", "state"), STATUS_OUTCOMES)
async def test_every_status_callback_outcome_is_recorded(
    hub: Hub, emulator: TwilioEmulator, callee: Callee, outcome: str, state: str
) -> None:
    emulator.voice.callees[ADA] = callee
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA], dialer="progressive")
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    contact = await history(hub, ann, ADA)
    (attempt,) = contact["attempts_made"]
    assert (attempt["outcome"], attempt["call_outcome"], contact["state"]) == (
        outcome, outcome, state,
    )  # fmt: skip
    assert contact["attempts"] == 1


async def test_a_machine_is_voicemail_and_hears_the_campaigns_message(
    hub: Hub, emulator: TwilioEmulator
) -> None:
    emulator.voice.callees[ADA] = Callee("machine")
    ann = await hub.token(Role.OUTBOUND, "ann")
    message = "https://hub.example.com/audio/sorry-we-missed-you.mp3"
    policy = {"dialer": "progressive", "machine_detection": True, "voicemail_url": message}
    await campaign(hub, ann, [ADA], **policy)
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    call = only(emulator.voice.to(ADA))
    assert call.machine_detection == "Enable"
    assert f"<Play>{message}</Play><Hangup />" in call.twiml[0]
    assert "<Dial" not in call.twiml[0]  # no agent is rung for a machine
    (attempt,) = (await history(hub, ann, ADA))["attempts_made"]
    assert (attempt["outcome"], attempt["answered_by"]) == ("voicemail", "machine_start")
    assert (await hub.store.get_dialer_agent("ann")).ready is True  # on to the next


async def test_a_retried_callback_changes_nothing_and_a_forged_one_is_refused(
    hub: Hub, emulator: TwilioEmulator
) -> None:
    emulator.voice.repeat_final = 2
    emulator.voice.callees[ADA] = Callee("busy")
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA], dialer="progressive")
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    call = only(emulator.voice.to(ADA))
    finals = [c for c in call.callbacks if c["CallStatus"] == "busy"]
    assert len(finals) == 3
    answer = await stats(hub, ann)
    assert (answer["by_outcome"], answer["attempts_per_contact"]) == ({"busy": 1}, {"1": 1})
    (attempt,) = (await history(hub, ann, ADA))["attempts_made"]
    path = f"/webhooks/twilio/dialer/status?attempt={attempt['id']}"
    forged = call_params(call.sid, CallStatus="completed")
    status, _ = await post_twilio(hub, path, forged, token="not-the-auth-token-at-all")
    assert status == 403
    status, _ = await post_twilio(hub, path, call_params("CAother", CallStatus="completed"))
    assert status == 404  # signed, but not the call this attempt placed
    assert (await stats(hub, ann))["by_outcome"] == {"busy": 1}


async def test_a_callback_retried_after_a_hub_died_mid_way_still_records_the_outcome(
    hub: Hub, clock: Clock
) -> None:
    """The hub that first heard the callback noted the call's end and died before the
    outcome (it never answered, so Twilio retries): the retry records it, once."""
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA])
    await ready(hub, ann, ANN, is_ready=False)
    spring = await hub.store.get_campaign("spring")
    slots = await hub.store.campaign_slots(spring.id)
    lease = await hub.store.next_contact(
        spring.id, slots, "ann", clock.now, clock.now + timedelta(hours=1)
    )
    assert lease is not None
    await hub.store.set_call(lease.attempt.id, "CAdied")
    assert await hub.store.end_call(lease.attempt.id, "CAdied", CallOutcome.NO_ANSWER)
    path = f"/webhooks/twilio/dialer/status?attempt={lease.attempt.id}"
    for _ in range(2):
        params = call_params("CAdied", CallStatus="no-answer")
        assert (await post_twilio(hub, path, params))[0] == 204
    (attempt,) = (await history(hub, ann, ADA))["attempts_made"]
    assert attempt["outcome"] == "no_answer"
    assert (await stats(hub, ann))["attempts_per_contact"] == {"1": 1}


async def test_hours_are_checked_when_the_agent_answers_not_when_they_ask(
    hub: Hub, emulator: TwilioEmulator, clock: Clock
) -> None:
    emulator.voice.callees[ANN] = Callee(ring=0.3)
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA])
    clock.now = datetime(2036, 6, 11, 20, 59, 50, tzinfo=NEW_YORK)
    status, _ = await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": ANN})
    assert status == 202
    clock.advance(timedelta(seconds=20))  # 21:00:10 when the agent picks up
    await settle(hub, emulator.voice)
    assert "Nobody can be called now." in only(emulator.voice.to(ANN)).twiml[0]
    assert emulator.voice.to(ADA) == []
    async with hub.http.post("/api/campaigns/spring/dial", headers=ann, json={}) as answer:
        assert (answer.status, answer.headers["Retry-After"]) == (204, str(11 * 3600 - 10))


async def test_a_progressive_dial_waits_for_the_window(
    hub: Hub, emulator: TwilioEmulator, clock: Clock
) -> None:
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA], dialer="progressive")
    clock.now = datetime(2036, 6, 12, 7, 59, tzinfo=NEW_YORK)
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    assert emulator.voice.calls == []
    clock.advance(timedelta(minutes=1))
    progressive = hub.app[DIALER]
    assert progressive is not None
    assert await progressive.sweep() == 1
    await settle(hub, emulator.voice)
    assert [call.to for call in emulator.voice.calls] == [ADA]


async def test_a_suppressed_number_is_never_dialled(hub: Hub, emulator: TwilioEmulator) -> None:
    """A number listed after the load is skipped at dial time, by either way of dialing."""
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA, GRACE], dialer="progressive")
    await hub.store.add_do_not_call([ADA], "complaint", datetime.now(NEW_YORK))
    await hub.store.set_sms_opt_out(f"phone:{GRACE}", opted_out=True, at=datetime.now(NEW_YORK))
    await ready(hub, ann, ANN)
    status, _ = await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": BOB})
    await settle(hub, emulator.voice)
    assert (status, emulator.voice.to(ADA), emulator.voice.to(GRACE)) == (202, [], [])
    assert (await stats(hub, ann))["by_state"] == {"suppressed": 2}


async def test_a_contact_on_a_call_is_never_dialled_again(
    hub: Hub, emulator: TwilioEmulator, clock: Clock
) -> None:
    """A long conversation outlasts the hand-out lease; the dial's hold keeps the contact."""
    emulator.voice.callees[ADA] = Callee(hold=True)
    ann, bob = await hub.token(Role.OUTBOUND, "ann"), await hub.token(Role.OUTBOUND, "bob")
    await campaign(hub, ann, [ADA], dialer="progressive")
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    await ready(hub, bob, BOB)
    clock.advance(timedelta(minutes=15))  # past the 10-minute lease of a hand-out
    progressive = hub.app[DIALER]
    assert progressive is not None
    assert await progressive.sweep() == 0
    assert (await post(hub, "/api/campaigns/spring/next", bob))[0] == 204
    await settle(hub, emulator.voice)
    assert len(emulator.voice.to(ADA)) == 1


async def test_dialing_answers_like_next_for_a_halted_campaign(
    hub: Hub, emulator: TwilioEmulator
) -> None:
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA])
    await post(hub, "/api/campaigns/spring/pause", ann)
    status, answer = await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": ANN})
    assert (status, answer) == (409, {"error": "campaign 'spring' is paused", "state": "paused"})
    await post(hub, "/api/campaigns/spring/start", ann)
    status, answer = await post(hub, "/api/campaigns/spring/dial", ann, json={})
    assert (status, "endpoint" in answer["error"]) == (400, True)
    status, answer = await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": "x"})
    assert status == 400
    emulator.voice.refuse.add(ANN)
    status, answer = await post(hub, "/api/campaigns/spring/dial", ann, json={"endpoint": ANN})
    assert (status, answer["error"]) == (
        502,
        f"twilio 400: 21215 Account not authorized to call {ANN}.",
    )
    assert emulator.voice.calls == []


async def test_an_outcome_typed_during_the_call_stands_and_the_agent_wraps_up(
    hub: Hub, emulator: TwilioEmulator
) -> None:
    """The agent records before Twilio reports the end: the call's end still frees the
    agent (once, however often the callback comes), and the agent's outcome stays."""
    emulator.voice.callees[ADA] = Callee(hold=True)
    emulator.voice.repeat_final = 1
    ann = await hub.token(Role.OUTBOUND, "ann")
    await campaign(hub, ann, [ADA, GRACE], dialer="progressive")
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    (attempt,) = (await history(hub, ann, ADA))["attempts_made"]
    path = f"/api/campaigns/spring/attempts/{attempt['id']}"
    status, moved = await post(hub, path, ann, json={"outcome": "resolved"})
    assert (status, moved["state"]) == (200, "completed")
    emulator.voice.hang_up(only(emulator.voice.to(ADA)).sid)
    await settle(hub, emulator.voice)
    agent = await hub.store.get_dialer_agent("ann")
    assert (agent.ready, agent.busy_until) == (False, None)  # wrapping up, not stuck busy
    (closed,) = (await history(hub, ann, ADA))["attempts_made"]
    assert (closed["outcome"], closed["call_outcome"]) == ("resolved", "answered")
    assert emulator.voice.to(GRACE) == []
    await ready(hub, ann, ANN)
    await settle(hub, emulator.voice)
    assert len(emulator.voice.to(GRACE)) == 1
