"""Rules over the API and hot reload: validated, versioned, swapped atomically, explained."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from core.model import Decision, Role, ThreadPolicy
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FunctionRouter, form_body, form_headers, inbound

RULES = """\
queues:
  general: {}
  billing: {sla: {first_response: 4h, resolution: 2d}}
rules:
  - name: billing words
    when: {body: {contains: [refund, invoice]}}
    then: {queue: billing, tags: [billing]}
default: {queue: general}
"""
OTHER_RULES = RULES.replace("refund, invoice", "chargeback")


async def submit(hub: Hub, external_id: str, message: str) -> int:
    body = form_body(external_id, message=message, email=f"{external_id}@example.com")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as response:
        assert response.status == 201
        return int((await response.json())["ticket_id"])


async def put_rules(hub: Hub, source: str, role: Role = Role.SUPERVISOR) -> tuple[int, Any]:
    async with hub.http.put("/api/rules", data=source, headers=await hub.token(role)) as response:
        return response.status, await response.json()


async def ticket(hub: Hub, ticket_id: int) -> Any:
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=await hub.token(Role.AGENT)) as r:
        return await r.json()


async def test_supervisor_replaces_rules_and_new_tickets_follow_them(hub: Hub) -> None:
    before = await submit(hub, "w1", "please refund me")
    status, answer = await put_rules(hub, RULES)
    assert status == 200
    assert answer["version"] == 1
    assert answer["author"] == "token:tester"
    after = await submit(hub, "w2", "please refund me")
    assert (await ticket(hub, before))["queue"] == "general"
    routed = await ticket(hub, after)
    assert (routed["queue"], routed["tags"]) == ("billing", ["billing"])
    assert routed["route"]["rule"] == "billing words"
    assert routed["route"]["rules_version"] == 1
    assert routed["sla"]["first_response_due"] is not None
    async with hub.http.get("/api/rules", headers=await hub.token(Role.AGENT)) as response:
        current = await response.json()
    assert (current["version"], current["source"]) == (1, RULES)


async def test_invalid_rules_are_400_with_every_problem_and_old_rules_stay(hub: Hub) -> None:
    await put_rules(hub, RULES)
    broken = RULES.replace("contains:", "containz:").replace("queue: billing,", "queue: nowhere,")
    status, answer = await put_rules(hub, broken)
    assert status == 400
    assert any("containz" in p and p.startswith("draft:6:") for p in answer["problems"])
    assert any("unknown queue 'nowhere'" in p for p in answer["problems"])
    assert answer["error"].startswith("draft: ")  # the body, not the configured file (once)
    routed = await ticket(hub, await submit(hub, "w1", "an invoice question"))
    assert routed["queue"] == "billing"


async def test_only_supervisors_replace_rules(hub: Hub) -> None:
    status, answer = await put_rules(hub, RULES, Role.AGENT)
    assert status == 403
    assert "supervisor" in answer["error"]


@pytest.mark.parametrize(
    ("probe", "queue", "rule"),
    [
        ({"channel": "sms", "from": "+15551234567", "text": "refund"}, "billing", "billing words"),
        ({"channel": "form", "text": "hello"}, "general", None),
        (
            {"channel": "form", "text": "chargeback", "rules": OTHER_RULES},
            "billing",
            "billing words",
        ),
    ],
    ids=["running-rules", "default", "draft"],
)
async def test_rules_test_explains_a_made_up_contact(
    hub: Hub, probe: dict[str, Any], queue: str, rule: str | None
) -> None:
    await put_rules(hub, RULES)
    async with hub.http.post(
        "/api/rules/test", json=probe, headers=await hub.token(Role.AGENT)
    ) as response:
        assert response.status == 200
        decision = await response.json()
    assert (decision["queue"], decision["rule"]) == (queue, rule)
    assert decision["explanation"]


@pytest.mark.parametrize(
    "probe",
    [
        {"text": "no channel"},
        {"channel": "sms", "colour": "red"},
        {"channel": "sms", "at": "yesterday"},
        {"channel": "sms", "at": "2026-11-23T10:00:00"},
        {"channel": "sms", "customer": {"tags": "vip"}},
        {"channel": "sms", "rules": "rules: [oops"},
        {"channel": 5},
        {"channel": "webchat"},
        {"channel": "sms", "event": "mesage"},
    ],
    ids=[
        "no-channel",
        "unknown-field",
        "bad-time",
        "naive-time",
        "bad-tags",
        "bad-draft",
        "bad-type",
        "unknown-channel",
        "unknown-event",
    ],
)
async def test_bad_rules_test_requests_are_400(hub: Hub, probe: dict[str, Any]) -> None:
    async with hub.http.post(
        "/api/rules/test", json=probe, headers=await hub.token(Role.AGENT)
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]


async def wait_for(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_edited_rules_file_is_reloaded_and_a_broken_edit_is_refused(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    hub = await start_hub(make_settings(routing={"rules": str(rules), "watch_interval": "1s"}))
    assert (await ticket(hub, await submit(hub, "w1", "refund")))["queue"] == "billing"
    rules.write_text(OTHER_RULES)

    async def chargebacks_route() -> bool:
        async with hub.http.post(
            "/api/rules/test", json={"channel": "form", "text": "chargeback"},
            headers=await hub.token(Role.AGENT),
        ) as response:  # fmt: skip
            return bool((await response.json())["queue"] == "billing")

    await wait_for(chargebacks_route)
    rules.write_text("rules: [this is not valid\n")
    await asyncio.sleep(1.5)
    assert await chargebacks_route()  # the running rules stayed


async def test_a_second_hub_follows_rules_stored_by_the_first(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    settings = make_settings(routing={"watch_interval": "1s"})
    first, second = await start_hub(settings), await start_hub(settings)
    await put_rules(first, RULES)

    async def second_follows() -> bool:
        async with second.http.get("/api/rules", headers=await second.token(Role.AGENT)) as r:
            return bool((await r.json())["version"] == 1)

    await wait_for(second_follows)
    assert (await ticket(second, await submit(second, "w9", "refund")))["queue"] == "billing"


async def test_a_version_stored_before_a_check_was_added_still_loads(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    """Older hubs stored any channel; publishing one now is refused, but a hub must still
    start on, and follow, the version an older hub stored (its rule just never matches)."""
    stored = RULES.replace("when: {body:", "when: {channel: webchat, body:")
    settings = make_settings(routing={"watch_interval": "1s"})
    first = await start_hub(settings)
    status, refused = await put_rules(first, stored)
    assert (status, "unknown channel 'webchat'" in refused["problems"][0]) == (400, True)
    await first.store.save_rules(stored, "token:old-hub", datetime.now(UTC))

    async def follows(hub: Hub) -> bool:
        async with hub.http.get("/api/rules", headers=await hub.token(Role.AGENT)) as r:
            return bool((await r.json())["version"] == 1)

    await wait_for(lambda: follows(first))
    second = await start_hub(settings)  # starts on it
    assert await follows(second)
    assert (await ticket(second, await submit(second, "w9", "refund")))["queue"] == "general"


async def test_a_changed_rules_file_becomes_a_new_version_at_start(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    first = await start_hub(make_settings(routing={"rules": str(rules)}))
    await put_rules(first, OTHER_RULES)  # version 2, through the API
    second = await start_hub(make_settings(routing={"rules": str(rules)}))
    async with second.http.get("/api/rules", headers=await second.token(Role.AGENT)) as r:
        assert (await r.json())["version"] == 2  # the file did not change: the API's stays
    rules.write_text(RULES + "# edited\n")
    third = await start_hub(make_settings(routing={"rules": str(rules)}))
    async with third.http.get("/api/rules", headers=await third.token(Role.AGENT)) as r:
        current = await r.json()
    assert current["version"] == 3
    assert current["source"].endswith("# edited\n")


WITHOUT_BILLING = RULES.replace(
    "  billing: {sla: {first_response: 4h, resolution: 2d}}\n", ""
).replace("then: {queue: billing, tags: [billing]}", "then: {queue: general, tags: [billing]}")


async def test_rules_that_drop_a_queue_with_live_tickets_are_refused(hub: Hub) -> None:
    """Once, publishing them stranded the queue's tickets: listed, never offered, and a
    claim there was 400 (an unknown queue)."""
    assert (await put_rules(hub, RULES))[0] == 200
    waiting = await submit(hub, "w1", "refund please")
    status, refused = await put_rules(hub, WITHOUT_BILLING)
    assert status == 409, refused
    assert refused["error"] == (
        "queue 'billing' holds 1 live ticket and these rules drop it: transfer it to "
        "another queue first, or keep the queue"
    )
    async with hub.http.get("/api/rules", headers=await hub.token(Role.AGENT)) as r:
        assert (await r.json())["version"] == 1  # the rules in force stay
    supervisor = await hub.token(Role.SUPERVISOR)
    move = {"queue": "general"}
    async with hub.http.post(
        f"/api/tickets/{waiting}/transfer", json=move, headers=supervisor
    ) as r:
        assert r.status == 200
    assert (await put_rules(hub, WITHOUT_BILLING))[0] == 200  # nothing left there


async def test_a_rules_file_that_drops_a_queue_with_live_tickets_is_not_put_in_force(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    """Not at a start (the hub serves the stored rules, and says why), nor on a reload."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = make_settings(routing={"rules": str(rules), "watch_interval": "1s"})
    first = await start_hub(settings)
    assert (await ticket(first, await submit(first, "w1", "refund")))["queue"] == "billing"
    with capture_logs() as logs:
        rules.write_text(WITHOUT_BILLING)
        second = await start_hub(settings)

        async def both_said_why() -> bool:
            said = {entry["event"] for entry in logs if "billing" in str(entry.get("error"))}
            return {"rules_file_refused", "rules_reload_failed"} <= said

        await wait_for(both_said_why)  # the second at its start, the first's watcher on a read
    for hub in (first, second):
        async with hub.http.get("/api/rules", headers=await hub.token(Role.AGENT)) as r:
            assert (await r.json())["version"] == 1
        assert (await ticket(hub, await submit(hub, f"w-{id(hub)}", "refund")))["queue"] == (
            "billing"
        )


async def test_a_queue_the_rules_do_not_name_is_claimed_from_while_it_holds_tickets(
    hub: Hub,
) -> None:
    """A campaign's queue, or one the rules dropped before they were refused for it."""
    side = FunctionRouter(lambda _contact, _facts: Decision("side"))
    made = await hub.store.commit_inbound(
        inbound("s1", "email:s@example.com"), side, ThreadPolicy({}, timedelta(0))
    )
    agent = await hub.token(Role.AGENT, "ann")
    async with hub.http.post("/api/queues/side/claim", headers=agent) as response:
        assert response.status == 200
        assert (await response.json())["id"] == made.ticket_id
    for name in ("side", "nowhere"):  # side holds ann's ticket, none waits; nowhere holds none
        async with hub.http.post(f"/api/queues/{name}/claim", headers=agent) as response:
            assert response.status == (204 if name == "side" else 404), name


async def test_every_version_is_listed_with_author_and_time(hub: Hub) -> None:
    await put_rules(hub, RULES)
    await put_rules(hub, OTHER_RULES)
    async with hub.http.get("/api/rules/versions", headers=await hub.token(Role.AGENT)) as r:
        versions = (await r.json())["items"]
    assert [(v["version"], v["author"]) for v in versions] == [
        (2, "token:tester"),
        (1, "token:tester"),
    ]
    assert all(v["created_at"].endswith("Z") for v in versions)
