"""Callers who ask for a callback, or whose call was missed, join the campaign a rule names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.campaigns import CampaignState
from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.campaign_support import Clock
from tests.support import FORM_SECRET
from tests.twilio_support import PUBLIC_URL, call_params, post_twilio, twilio_section

VOICE = "/webhooks/twilio/voice"
CALLER = "+12125550142"  # New York


def rules_file(tmp_path: Path) -> Path:
    """Every call finds the line closed (a holiday around now), so it hears the menu."""
    today = datetime.now(UTC).date()
    days = ", ".join(str(today + timedelta(days=d)) for d in (-1, 0, 1))
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""
calendars:
  never:
    timezone: UTC
    weekly: {{mon-sun: "00:00-24:00"}}
    holidays: [{days}]
queues:
  general: {{kind: inbound, calendar: never}}
  callbacks: {{kind: outbound}}
rules:
  - name: call me back
    when: {{event: {{in: [missed_call, callback_request]}}}}
    then: {{queue: callbacks, priority: high, campaign: callbacks}}
default: {{queue: general}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(params=["sqlite", "redis"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends: the enrolment follows a decision the store may have asked twice."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path) -> Hub:
    settings = make_settings(
        server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
        routing={"rules": str(rules_file(tmp_path)), "watch_interval": "0s"},
        channels={"webform": {"secret": FORM_SECRET}, "twilio": twilio_section()},
        campaigns={"hours": "00:00-24:00", "caller_id": "+12125550000"},
    )
    return await start_hub(settings, clock=Clock())


async def voice(hub: Hub, step: str, sid: str, caller: str = CALLER, **extra: str) -> int:
    path = f"{VOICE}/{step}" if step else VOICE
    status, _ = await post_twilio(hub, path, call_params(sid, caller, **extra))
    return status


async def callback_request(hub: Hub, sid: str, caller: str = CALLER) -> None:
    assert await voice(hub, "", sid, caller) == 200
    assert await voice(hub, "menu", sid, caller, Digits="1") == 200


async def next_contact(hub: Hub, auth: dict[str, str]) -> tuple[int, Any]:
    async with hub.http.post("/api/campaigns/callbacks/next", headers=auth) as response:
        return response.status, (await response.json() if response.status == 200 else None)


async def test_a_callback_request_joins_the_campaign_the_rule_names(hub: Hub) -> None:
    await callback_request(hub, "CA1")
    assert await voice(hub, "menu", "CA1", Digits="1") == 200  # Twilio retries: once still
    campaign = await hub.store.get_campaign("callbacks")
    assert (campaign.state, campaign.queue, campaign.caller_id) == (
        CampaignState.RUNNING, "callbacks", "+12125550000",
    )  # fmt: skip
    counts = await hub.store.campaign_counts(campaign.id, [], datetime.now(UTC))
    assert counts.by_state == {"queued": 1}
    auth = await hub.token(Role.OUTBOUND, "ann")
    status, lease = await next_contact(hub, auth)
    assert status == 200
    contact = lease["contact"]
    assert (contact["phone"], contact["external_ref"], contact["source"]) == (
        CALLER, "ticket:1", "ticket:1",
    )  # fmt: skip
    assert contact["time_zones"] == ["America/New_York"]
    assert lease["caller_id"] == "+12125550000"


async def test_a_missed_call_never_seen_before_is_a_new_ticket_and_a_contact(hub: Hub) -> None:
    assert await voice(hub, "status", "CA9", CallStatus="no-answer") == 204
    ticket = await hub.store.get_ticket(1)
    assert ticket.queue == "callbacks"
    auth = await hub.token(Role.OUTBOUND, "ann")
    status, lease = await next_contact(hub, auth)
    assert (status, lease["contact"]["external_ref"]) == (200, "ticket:1")


async def test_a_caller_on_the_do_not_call_list_is_never_enrolled(hub: Hub) -> None:
    await hub.store.add_do_not_call([CALLER], "complaint", datetime.now(UTC))
    await callback_request(hub, "CA1")
    ticket = await hub.store.get_ticket(1)
    assert ticket.queue == "callbacks"  # agents still see the request
    campaign = await hub.store.get_campaign("callbacks")
    counts = await hub.store.campaign_counts(campaign.id, [], datetime.now(UTC))
    assert counts.contacts == 0


async def test_asking_again_after_a_finished_callback_queues_the_caller_again(hub: Hub) -> None:
    auth = await hub.token(Role.OUTBOUND, "ann")
    await callback_request(hub, "CA1")
    _, lease = await next_contact(hub, auth)
    path = f"/api/campaigns/callbacks/attempts/{lease['attempt_id']}"
    async with hub.http.post(path, headers=auth, json={"outcome": "resolved"}) as response:
        assert response.status == 200
    assert (await next_contact(hub, auth))[0] == 204
    await callback_request(hub, "CA2")
    status, again = await next_contact(hub, auth)
    assert status == 200
    # The second call threads onto the first one's ticket (voice's reopen window): the
    # contact is the same, with its attempts counted afresh.
    assert (again["contact"]["id"], again["contact"]["attempts"]) == (lease["contact"]["id"], 0)


async def test_a_number_without_a_zone_is_not_enrolled_but_the_ticket_stays(hub: Hub) -> None:
    await callback_request(hub, "CA1", caller="+80012345678")
    ticket = await hub.store.get_ticket(1)
    assert ticket.queue == "callbacks"
    campaign = await hub.store.get_campaign("callbacks")
    counts = await hub.store.campaign_counts(campaign.id, [], datetime.now(UTC))
    assert counts.contacts == 0
