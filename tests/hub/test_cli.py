"""The command line as users run it: real processes, real files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import aiohttp

from tests.hub.serving import cli, environment, start_serve, write_config


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args),
        capture_output=True,
        text=True,
        env=env or environment(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


async def test_token_create_prints_a_working_token_last(tmp_path: Path) -> None:
    config, port = write_config(tmp_path)
    created = run("token", "create", "--role", "agent", "--name", "alice", "--config", str(config))
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("ch_")
    assert "alice" in created.stdout
    process = await start_serve(config, port)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/api/queues", headers={"Authorization": f"Bearer {secret}"}) as r:
                assert r.status == 200
            async with http.get("/api/queues", headers={"Authorization": "Bearer ch_x"}) as r:
                assert r.status == 401
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_config_comes_from_the_environment_variable(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    created = run(
        "token", "create", "--role", "admin", "--name", "ops",
        env=environment(CONTACTHUB_CONFIG=str(config)),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "hub.db").exists()


def test_invalid_config_exits_with_every_problem_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nport = -1\nbogus = 1\n[storage]\nurl = "mysql://x"\n')
    result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert "server.port" in result.stderr
    assert "server.bogus: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_storage_scheme_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[storage]\nurl = "sqlit:///x.db"\n')
    result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert "did you mean 'sqlite'" in result.stderr


def test_bad_role_is_a_usage_error(tmp_path: Path) -> None:
    result = run("token", "create", "--role", "king", "--name", "x")
    assert result.returncode == 2
    assert "king" in result.stderr


def test_demo_drives_contacts_and_prints_tickets_and_queues() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "contacts sent",
        "created",
        "appended",
        "duplicate",
        "403",
        "tickets",
        "queues",
    ):
        assert expected in out
    assert "phone:+15552010042" in out  # one customer across the form's two identities
    assert "chat:shop-user-1042" in out  # the signed chat visitor joined her customer
    assert "chat reply pushed to the visitor's socket: 'Yes Ada, it arrives tomorrow.'" in out
    assert "ann came online: offered #1 (form)" in out  # the billing queue's offers
    assert "ann accepted #1: open, assignee ann" in out
    assert "chosen ann by least_loaded" in out
