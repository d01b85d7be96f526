"""The demo's agent: a supervisor adds Ann (billing skill), she comes online, the hub offers
her the billing queue's waiting tickets on that event, and she accepts one; the explanation
of the choice is read back from the ticket's record."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
from rich.console import Console

from hub.tokens import digest, new_secret
from storage.base import Store


async def ann_takes_work(
    console: Console, http: aiohttp.ClientSession, store: Store, supervisor: str
) -> None:
    boss = {"Authorization": f"Bearer {supervisor}"}
    body = {"roles": ["agent"], "skills": ["billing"], "capacity": {"form": 2, "sms": 2}}
    async with http.put("/api/agents/ann", json=body, headers=boss) as response:
        assert response.status == 201, await response.text()
    secret = new_secret()
    await store.add_token("ann", None, digest(secret), datetime.now(UTC))
    ann = {"Authorization": f"Bearer {secret}"}
    presence = {"status": "online"}
    async with http.post("/api/agents/me/presence", json=presence, headers=ann) as response:
        assert response.status == 200, await response.text()
    offers = await _offers(http, ann)
    listed = ", ".join(f"#{o['ticket_id']} ({o['channel']})" for o in offers)
    console.print(f"\nann came online: offered {listed or 'nothing'}")
    if not offers:
        return
    first = offers[0]
    accept = f"/api/offers/{first['id']}/accept"
    async with http.post(accept, headers=ann) as response:
        ticket = await response.json()
    console.print(
        f"ann accepted #{ticket['id']}: {ticket['status']}, assignee {ticket['assignee']}"
    )
    console.print("why ann: " + " | ".join(first["explanation"]))


async def _offers(http: aiohttp.ClientSession, auth: dict[str, str]) -> list[dict[str, Any]]:
    """Ann's open offers, once the offerer (which works apart) has made them."""
    for _ in range(100):
        async with http.get("/api/offers", headers=auth) as response:
            items: list[dict[str, Any]] = (await response.json())["items"]
        if items:
            await asyncio.sleep(0.1)  # the rest of the round
            async with http.get("/api/offers", headers=auth) as response:
                again: list[dict[str, Any]] = (await response.json())["items"]
                return again
        await asyncio.sleep(0.05)
    return []
