"""Any stored version of the rules read back, and restored as the newest with who and why;
over real HTTP on SQLite and Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.test_rules_api import OTHER_RULES, RULES, put_rules, submit

BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


async def call(hub: Hub, method: str, path: str, role: Role, body: Any = None) -> tuple[int, Any]:
    headers = await hub.token(role, "sue")
    async with hub.http.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_a_stored_version_reads_back_and_is_restored_as_the_newest(hub: Hub) -> None:
    await put_rules(hub, RULES)
    await put_rules(hub, OTHER_RULES)
    status, first = await call(hub, "GET", "/api/rules/versions/1", Role.AGENT)
    assert (status, first["version"], first["source"]) == (200, 1, RULES)
    status, restored = await call(
        hub, "POST", "/api/rules/versions/1/restore", Role.SUPERVISOR, {"reason": "too broad"}
    )
    assert (status, restored["version"], restored["source"]) == (201, 3, RULES)
    assert restored["author"] == "token:sue (restored v1: too broad)"
    _, current = await call(hub, "GET", "/api/rules", Role.AGENT)
    assert (current["version"], current["source"]) == (3, RULES)


async def test_restoring_is_a_supervisors_with_a_reason_and_unknown_versions_are_404(
    hub: Hub,
) -> None:
    await put_rules(hub, RULES)
    path = "/api/rules/versions/1/restore"
    status, body = await call(hub, "POST", path, Role.AGENT, {"reason": "x"})
    assert (status, "supervisor" in body["error"]) == (403, True)
    status, body = await call(hub, "POST", path, Role.SUPERVISOR, {})
    assert (status, "reason" in body["error"]) == (400, True)
    assert (await call(hub, "GET", "/api/rules/versions/9", Role.AGENT))[0] == 404
    assert (await call(hub, "GET", "/api/rules/versions/x", Role.AGENT))[0] == 400


async def test_simulating_a_draft_names_the_tickets_it_would_move(hub: Hub) -> None:
    await put_rules(hub, RULES)
    moved = await submit(hub, "w1", "a refund please")
    await submit(hub, "w2", "hello")
    status, result = await call(
        hub, "POST", "/api/rules/simulate", Role.SUPERVISOR, {"rules": OTHER_RULES}
    )
    assert status == 200
    assert (result["tickets"], result["moved"]) == (2, 1)
    assert result["moves"] == [
        {"ticket_id": moved, "from": "billing", "to": "general", "rule": None}
    ]
    assert (result["before"], result["after"]) == ({"billing": 1, "general": 1}, {"general": 2})
    status, body = await call(
        hub, "POST", "/api/rules/simulate", Role.SUPERVISOR, {"rules": "queues: ["}
    )
    assert (status, bool(body["problems"])) == (400, True)
    assert (await call(hub, "POST", "/api/rules/simulate", Role.AGENT, {"rules": RULES}))[0] == 403


async def test_a_ticket_moved_by_a_person_is_no_move_of_the_rules(hub: Hub) -> None:
    await put_rules(hub, RULES)
    ticket = await submit(hub, "w1", "a refund please")  # billing, by the rules
    status, _ = await call(
        hub, "POST", f"/api/tickets/{ticket}/transfer", Role.SUPERVISOR, {"queue": "general"}
    )
    assert status == 200
    status, result = await call(
        hub, "POST", "/api/rules/simulate", Role.SUPERVISOR, {"rules": RULES}
    )
    assert (status, result["moved"], result["before"]) == (200, 0, {"billing": 1})
    _, result = await call(
        hub, "POST", "/api/rules/simulate", Role.SUPERVISOR, {"rules": OTHER_RULES}
    )
    assert result["moves"] == [
        {"ticket_id": ticket, "from": "billing", "to": "general", "rule": None}
    ]


async def test_a_publish_based_on_an_older_version_is_409_and_names_the_newer(hub: Hub) -> None:
    await put_rules(hub, RULES)  # v1
    headers = {**await hub.token(Role.SUPERVISOR, "sue"), "If-Match": '"1"'}
    async with hub.http.put("/api/rules", data=OTHER_RULES, headers=headers) as response:
        assert response.status == 200  # based on what is in force: v2
    async with hub.http.put("/api/rules", data=RULES, headers=headers) as response:
        body = await response.json()
        assert response.status == 409
    assert "version 2 by token:sue is in force" in body["error"]
    headers["If-Match"] = "latest"
    async with hub.http.put("/api/rules", data=RULES, headers=headers) as response:
        assert response.status == 400


async def test_a_file_edit_that_replaces_a_published_version_says_so(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    hub = await start_hub(make_settings(routing={"rules": str(rules), "watch_interval": "1s"}))
    await put_rules(hub, OTHER_RULES)  # v2, through the API
    rules.write_text(RULES.replace("refund", "money back"))
    for _ in range(60):
        current = await hub.store.current_rules()
        if current is not None and current.version == 3:
            break
        await asyncio.sleep(0.1)
    assert current is not None
    assert current.version == 3
    assert current.author.endswith("(file changed; replaces v2 by token:tester)")


async def publish(hub: Hub, source: str, base: int | None, name: str = "sue") -> tuple[int, Any]:
    headers = await hub.token(Role.SUPERVISOR, name)
    if base is not None:
        headers["If-Match"] = f'"{base}"'
    async with hub.http.put("/api/rules", data=source, headers=headers) as response:
        return response.status, await response.json()


async def test_two_hubs_publishing_over_one_version_land_one_and_refuse_the_other(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    """The check is the store's atomic compare-and-save: two hubs on one store cannot both
    pass it, however close together their publishes come."""
    one = await start_hub(make_settings())
    two = await start_hub(make_settings())
    await put_rules(one, RULES)  # v1
    for round_ in range(3):
        base = 1 + round_
        answers = await asyncio.gather(
            publish(one, OTHER_RULES + f"# one {round_}\n", base, "sue"),
            publish(two, RULES + f"# two {round_}\n", base, "max"),
        )
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], answers
        refused = next(body for status, body in answers if status == 409)
        assert f"the rules changed since version {base}: version {base + 1} by" in refused["error"]
    history = await one.store.rules_history()
    assert [v.version for v in history] == [4, 3, 2, 1]


async def test_a_publish_without_if_match_names_the_version_it_replaced(hub: Hub) -> None:
    status, first = await publish(hub, RULES, None)
    assert (status, first["version"], first["replaces"]) == (200, 1, None)
    status, second = await publish(hub, OTHER_RULES, None, "max")
    assert (status, second["version"]) == (200, 2)
    assert second["replaces"] == {"version": 1, "author": "token:sue"}


async def test_a_restore_over_a_newer_version_is_409(hub: Hub) -> None:
    await put_rules(hub, RULES)
    await put_rules(hub, OTHER_RULES)  # v2
    headers = {**await hub.token(Role.SUPERVISOR, "sue"), "If-Match": '"1"'}
    path = "/api/rules/versions/1/restore"
    async with hub.http.post(path, json={"reason": "too broad"}, headers=headers) as response:
        assert response.status == 409
        assert "version 2 by token:tester is in force" in (await response.json())["error"]
    headers["If-Match"] = '"2"'
    async with hub.http.post(path, json={"reason": "too broad"}, headers=headers) as response:
        restored = await response.json()
        assert (response.status, restored["version"]) == (201, 3)
        assert restored["replaces"] == {"version": 2, "author": "token:tester"}


async def test_hubs_starting_together_with_a_changed_file_store_it_once(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = make_settings(routing={"rules": str(rules), "watch_interval": "0s"})
    hubs = await asyncio.gather(*(start_hub(settings) for _ in range(3)))
    history = await hubs[0].store.rules_history()
    assert [(v.version, v.author) for v in history] == [(1, f"file:{rules}")]
