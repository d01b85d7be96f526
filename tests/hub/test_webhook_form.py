"""The web form webhook over real HTTP: acknowledged only after the commit, exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.model import TicketFilter
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import form_body, form_headers


async def post_form(
    hub: Hub, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    async with hub.http.post(
        "/webhooks/form", data=body, headers=form_headers(body) if headers is None else headers
    ) as response:
        return response.status, await response.json()


async def stored_tickets(hub: Hub) -> int:
    return len((await hub.store.list_tickets(TicketFilter())).items)


async def test_signed_form_creates_a_ticket(hub: Hub) -> None:
    status, answer = await post_form(
        hub, form_body("w1", subject="Refund", message="Twice charged")
    )
    assert status == 201
    assert answer["outcome"] == "created"
    ticket = await hub.store.get_ticket(int(str(answer["ticket_id"])))
    assert (ticket.channel, ticket.queue, ticket.subject) == ("form", "general", "Refund")
    assert ticket.messages[0].body == "Twice charged"


async def test_retried_form_is_acknowledged_and_stored_once(hub: Hub) -> None:
    body = form_body("w1")
    first = await post_form(hub, body)
    second = await post_form(hub, body)
    assert first[0] == 201
    assert second == (200, {"ticket_id": first[1]["ticket_id"], "outcome": "duplicate"})
    assert len((await hub.store.get_ticket(1)).messages) == 1


async def test_concurrent_retries_store_one_message(hub: Hub) -> None:
    body = form_body("w1")
    answers = await asyncio.gather(*(post_form(hub, body) for _ in range(25)))
    assert sorted(status for status, _ in answers) == [200] * 24 + [201]
    assert len((await hub.store.get_ticket(1)).messages) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Contacthub-Signature": "sha256=" + "0" * 64},
        form_headers(form_body("w1"), secret="another-secret-entirely"),
    ],
    ids=["missing", "forged", "other-secret"],
)
async def test_bad_signature_is_403_and_stores_nothing(hub: Hub, headers: dict[str, str]) -> None:
    status, answer = await post_form(hub, form_body("w1"), headers)
    assert status == 403
    assert "signature" in str(answer["error"])
    assert await stored_tickets(hub) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "not valid JSON"),
        (b'{"external_id": "w1", "message": "no way to reach me"}', "email or phone is required"),
        (b'{"external_id": "w1", "phone": "not a number"}', "not a phone number"),
    ],
    ids=["broken-json", "no-identity", "bad-phone"],
)
async def test_malformed_signed_form_is_400_with_reason(hub: Hub, body: bytes, reason: str) -> None:
    status, answer = await post_form(hub, body)
    assert status == 400
    assert reason in str(answer["error"])
    assert await stored_tickets(hub) == 0


async def test_oversize_body_is_413_before_anything_is_parsed(hub: Hub) -> None:
    body = form_body("w1", message="x" * 70_000)  # the test hub's limit is 64 KiB
    status, answer = await post_form(hub, body)
    assert status == 413
    assert "exceeds" in str(answer["error"])
    assert await stored_tickets(hub) == 0


async def test_full_storage_is_503_and_only_acknowledged_contacts_are_kept(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    hub = await start_hub(
        make_settings(storage={"url": f"sqlite:///{tmp_path}/cap.db?max_size_mb=1"})
    )
    statuses = []
    for i in range(40):  # fill the capped database until it refuses
        status, answer = await post_form(hub, form_body(f"w{i}", message="z" * 60_000))
        statuses.append(status)
        if status == 503:
            assert "storage unavailable" in str(answer["error"])
            break
    assert 503 in statuses
    stored = await stored_tickets(hub)
    assert stored == statuses.count(201)  # every acknowledged contact, and nothing else
    async with hub.http.get("/readyz") as response:
        assert response.status == 200  # full, not down: reads still work


async def test_webhook_rejections_are_counted_with_the_checked_path(hub: Hub) -> None:
    await post_form(hub, form_body("w1"), {"X-Contacthub-Signature": "sha256=00"})
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    labels = 'channel="form",path="/webhooks/form",reason="SignatureError"'
    assert f"contacthub_webhook_rejected_total{{{labels}}} 1.0" in text
