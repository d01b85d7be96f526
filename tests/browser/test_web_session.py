"""Web-face sessions over real HTTP on both stores: a token becomes an HttpOnly, SameSite=Strict
cookie that authenticates the API as the token would, changes need the CSRF header, sign-out
revokes the session, a session ends after `[web] session_lifetime` and the purge revokes the
ended ones (never an API token). (No browser here: these run with `-m "not browser"` too.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest

from core.errors import ConfigError
from core.model import Role
from core.people import AgentChange
from hub.tokens import digest, new_secret
from hub.web.session import COOKIE, CSRF_HEADER, marker, purge_sessions
from tests.conftest import Hub, MakeSettings, StartHub

BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings) -> Hub:
    return await start_hub(make_settings())


async def sign_in(hub: Hub, role: Role, name: str) -> tuple[str, str]:
    """The session cookie's value and the CSRF token of a new session."""
    secret = (await hub.token(role, name))["Authorization"].split(" ", 1)[1]
    async with hub.http.post("/web/session", json={"token": secret}) as response:
        assert response.status == 200
        body = await response.json()
        cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
    assert (body["name"], body["roles"]) == (name, [str(role)])
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]
    return cookie.value, body["csrf"]


async def call(
    hub: Hub, method: str, path: str, session: str, csrf: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Cookie": f"{COOKIE}={session}"}
    if csrf is not None:
        headers[CSRF_HEADER] = csrf
    async with hub.http.request(method, path, json=body, headers=headers) as response:
        text = await response.text()
        return response.status, (await response.json()) if text else None


async def test_a_session_reads_as_its_token_and_changes_need_the_csrf_header(hub: Hub) -> None:
    session, csrf = await sign_in(hub, Role.AGENT, "ann")
    status, me = await call(hub, "GET", "/api/me", session)
    assert (status, me["name"], me["token"]["roles"]) == (200, "ann", ["agent"])
    presence = {"status": "away"}
    status, body = await call(hub, "POST", "/api/agents/me/presence", session, None, presence)
    assert status == 403
    assert CSRF_HEADER in body["error"]
    wrong = await call(hub, "POST", "/api/agents/me/presence", session, "0" * 64, presence)
    assert wrong[0] == 403
    status, body = await call(hub, "POST", "/api/agents/me/presence", session, csrf, presence)
    assert (status, body["presence"]) == (200, "away")


async def test_roles_are_the_apis_to_enforce_for_a_session_too(hub: Hub) -> None:
    session, csrf = await sign_in(hub, Role.AGENT, "ann")
    status, body = await call(hub, "PUT", "/api/agents/bob", session, csrf, {"skills": []})
    assert status == 403
    assert "supervisor" in body["error"]


async def test_signing_out_revokes_the_session(hub: Hub) -> None:
    session, csrf = await sign_in(hub, Role.AGENT, "ann")
    assert (await call(hub, "DELETE", "/web/session", session))[0] == 403  # no CSRF header
    status, _ = await call(hub, "DELETE", "/web/session", session, csrf)
    assert status == 204
    status, body = await call(hub, "GET", "/api/me", session)
    assert status == 401
    assert "sign in again" in body["error"]
    assert (await call(hub, "GET", "/web/session", session))[0] == 401
    async with hub.http.get("/web/session") as response:  # no cookie: no session, no failure
        assert response.status == 204


async def test_a_bad_token_does_not_sign_in(hub: Hub) -> None:
    async with hub.http.post("/web/session", json={"token": "ch_nope"}) as response:
        assert response.status == 401
    async with hub.http.post("/web/session", json={"secret": 1}) as response:
        assert response.status == 400
        assert "token" in (await response.json())["error"]


async def test_the_page_is_ours_with_cache_headers(hub: Hub) -> None:
    async with hub.http.get("/") as response:
        page = await response.text()
        assert response.headers["Cache-Control"] == "no-cache"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "/web/static/main.js?v=" in page
    assert "http" not in page.split("<body>")[0]
    async with hub.http.get("/web/static/main.js") as response:
        assert response.status == 200
        assert "immutable" in response.headers["Cache-Control"]
        assert response.content_type == "text/javascript"
    async with hub.http.get("/web/static/nope.js") as response:
        assert response.status == 404
    icon = page.split('rel="icon" href="')[1].split('"')[0]  # no /favicon.ico 404 on each load
    async with hub.http.get(icon) as response:
        assert (response.status, response.content_type) == (200, "image/svg+xml")


async def test_a_token_that_grants_no_role_is_refused_and_no_session_minted(hub: Hub) -> None:
    """`agent add ann` without `--role` prints a token of an agent with no role: its session
    could open nothing on the page, so signing in says why instead."""
    now = datetime.now(UTC)
    await hub.store.put_agent("ann", AgentChange(), now)
    secret = new_secret()
    await hub.store.add_token("ann", None, digest(secret), now)
    async with hub.http.post("/web/session", json={"token": secret}) as response:
        assert response.status == 403
        assert "--role agent" in (await response.json())["error"]
        assert COOKIE not in response.cookies
    assert len(await hub.store.list_tokens()) == 1  # the API token alone: no session
    await hub.store.put_agent("ann", AgentChange(roles=frozenset({Role.AGENT})), now)
    async with hub.http.post("/web/session", json={"token": secret}) as response:
        assert (response.status, (await response.json())["roles"]) == (200, ["agent"])


class Clock:
    """The hub's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def session_ids(hub: Hub) -> dict[int, bool]:
    """Every session token (by its marker in the store): whether it is revoked."""
    return {
        info.id: info.revoked_at is not None
        for info in await hub.store.list_tokens()
        if await hub.store.get_checkpoint(marker(info.id)) is not None
    }


async def test_sessions_end_after_their_lifetime_and_the_purge_revokes_the_ended_ones(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    clock = Clock()
    lifetime = timedelta(hours=1)
    hub = await start_hub(make_settings(web={"session_lifetime": "1h"}), clock=clock)
    ann, _ = await sign_in(hub, Role.AGENT, "ann")
    bob, bob_csrf = await sign_in(hub, Role.AGENT, "bob")
    assert (await call(hub, "DELETE", "/web/session", bob, bob_csrf))[0] == 204
    assert sorted((await session_ids(hub)).values()) == [False, True]  # bob's revoked

    clock.now += timedelta(minutes=59)
    assert (await call(hub, "GET", "/api/me", ann))[0] == 200
    assert await purge_sessions(hub.store, clock(), lifetime, set()) == 0
    clock.now += timedelta(minutes=2)
    cara, _ = await sign_in(hub, Role.AGENT, "cara")  # begins now: lives on
    assert await purge_sessions(hub.store, clock(), lifetime, set()) == 1  # ann's
    assert list((await session_ids(hub)).values()) == [True, True, False]
    status, body = await call(hub, "GET", "/api/me", ann)
    assert (status, "sign in again" in body["error"]) == (401, True)
    assert (await call(hub, "GET", "/api/me", cara))[0] == 200
    api_tokens = [t for t in await hub.store.list_tokens() if t.id not in await session_ids(hub)]
    assert len(api_tokens) == 3  # ann's, bob's and cara's API tokens: older, never touched
    assert all(t.revoked_at is None for t in api_tokens)


async def test_an_ended_session_is_refused_even_before_the_purge(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    clock = Clock()
    hub = await start_hub(make_settings(web={"session_lifetime": "5m"}), clock=clock)
    ann, _ = await sign_in(hub, Role.AGENT, "ann")
    clock.now += timedelta(minutes=6)
    assert (await call(hub, "GET", "/web/session", ann))[0] == 401
    assert list((await session_ids(hub)).values()) == [True]  # revoked on the way


async def test_a_session_secret_is_no_bearer_token(hub: Hub) -> None:
    """As a bearer token it would skip the session's end and the CSRF check."""
    session, _ = await sign_in(hub, Role.SUPERVISOR, "sue")
    headers = {"Authorization": f"Bearer {session}"}
    async with hub.http.put("/api/agents/bob", json={"skills": []}, headers=headers) as response:
        assert response.status == 401
        assert "cookie" in (await response.json())["error"]
    async with hub.http.post("/web/session", json={"token": session}) as response:
        assert response.status == 401  # nor does it sign in again, for a new lifetime


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ({"session_lifetime": "1m"}, "web.session_lifetime"),
        ({"session_lifetime": "31d"}, "web.session_lifetime"),
        ({"session_purge_interval": "0s"}, "web.session_purge_interval"),
    ],
    ids=["too-short", "too-long", "no-interval"],
)
def test_session_settings_out_of_bounds_are_refused(
    make_settings: MakeSettings, web: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        make_settings(web=web)
    assert any(p.startswith(problem) for p in refused.value.problems)
