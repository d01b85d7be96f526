"""`contacthub agent` and `contacthub token` as users run them: real processes, real files."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest

from tests.hub.serving import start_serve, write_config
from tests.hub.test_cli import run


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


async def test_agent_add_prints_a_token_of_every_role_the_agent_holds(tmp_path: Path) -> None:
    config, port = write_config(tmp_path)
    added = run(
        "agent", "add", "ann", "--role", "agent", "--role", "outbound", "--skill", "billing",
        "--capacity", "email=4,sms=2", "--queue", "general", "--config", str(config),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "agent, outbound" in added.stdout
    assert "email=4" in added.stdout
    secret = last_line(added.stdout)
    process = await start_serve(config, port)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            headers = {"Authorization": f"Bearer {secret}"}
            async with http.get("/api/me", headers=headers) as response:
                me = await response.json()
            assert (me["roles"], me["skills"], me["queues"]) == (
                ["agent", "outbound"],
                ["billing"],
                ["general"],
            )
            assert (me["capacity"]["email"], me["capacity"]["sms"]) == (4, 2)
            assert me["token"]["roles"] == ["agent", "outbound"]
            async with http.get("/api/campaigns", headers=headers) as response:
                assert response.status == 200  # one token, both roles
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_tokens_are_listed_and_revoked_by_id_or_name(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    for _ in range(2):
        assert (
            run("agent", "add", "ann", "--role", "agent", "--config", str(config)).returncode == 0
        )
    run("token", "create", "--role", "supervisor", "--name", "sue", "--config", str(config))
    listed = run("token", "list", "--config", str(config))
    lines = listed.stdout.strip().splitlines()
    assert [line.split("\t")[1:3] for line in lines] == [
        ["ann", "all roles"],
        ["ann", "all roles"],
        ["sue", "supervisor"],
    ]
    assert "ch_" not in listed.stdout  # never a secret
    revoked = run("token", "revoke", lines[2].split("\t")[0], "--config", str(config))
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked 1 token of" in revoked.stdout
    both = run("token", "revoke", "ann", "--config", str(config))
    assert "revoked 2 tokens of ann" in both.stdout
    again = run("token", "revoke", "ann", "--config", str(config))
    assert again.returncode == 1
    assert "no live token 'ann'" in again.stderr
    assert run("token", "list", "--config", str(config)).stdout.count("revoked") == 3


def test_store_commands_need_only_the_storage_section(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)  # its form secret comes from FORM_SECRET
    environ = {k: v for k, v in os.environ.items() if k != "FORM_SECRET"}
    added = run("agent", "add", "ann", "--config", str(config), env=environ)
    assert added.returncode == 0, added.stderr
    listed = run("agent", "list", "--config", str(config), env=environ)
    assert listed.stdout.startswith("ann\t")
    assert "offline" in listed.stdout


def test_without_config_the_default_store_is_named_or_a_config_here_refused(
    tmp_path: Path,
) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "CONTACTHUB_CONFIG"}
    added = run("agent", "add", "ann", env=environ, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert f"default store {tmp_path / 'contacthub.db'}" in added.stderr
    (tmp_path / "contacthub.toml").write_text("[storage]\n", encoding="utf-8")
    refused = run("token", "list", env=environ, cwd=tmp_path)
    assert refused.returncode == 1
    assert "pass --config contacthub.toml" in refused.stderr


def test_a_bad_capacity_is_a_usage_error_naming_the_channels(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    result = run("agent", "add", "ann", "--capacity", "fax=2", "--config", str(config))
    assert result.returncode == 2
    assert "email, sms, voice, slack, form, chat" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("agent", "add", ""), "a name cannot be empty"),
        (("agent", "add", "me"), "'me' is a word the API reads in a name's place"),
        (("agent", "add", "ann "), "cannot begin or end with a space"),
        (("agent", "add", "x" * 65), "at most 64 characters"),
        (("token", "create", "--role", "agent", "--name", "none"),
         "value for --name: 'none' is a word"),
        (("agent", "add", "ann", "--capacity", "email=10001"), "COUNT from 0 to 10000"),
        (("agent", "add", "ann", "--capacity", "sms=" + "9" * 20), "COUNT from 0 to 10000"),
        (("agent", "add", "ann", "--queue", "general", "--queue", "bilings"),
         "unknown queue(s): bilings; the rules have general"),
    ],
)  # fmt: skip
def test_agent_and_token_arguments_the_api_would_refuse_are_usage_errors(
    tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    """Each once stored as given (an agent nobody could find by name) or a traceback (a
    capacity past 64 bits)."""
    config, _ = write_config(tmp_path)
    result = run(*args, "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert words in " ".join(result.stderr.split())  # click may wrap the line
    assert run("agent", "list", "--config", str(config)).stdout == ""


def test_a_token_id_past_any_stored_one_is_no_live_token(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    result = run("token", "revoke", "9" * 20, "--config", str(config))
    assert (result.returncode, result.stderr.strip()) == (1, f"Error: no live token '{'9' * 20}'")


def test_a_database_whose_folder_cannot_be_made_is_an_error_naming_it(tmp_path: Path) -> None:
    """Once a traceback from `mkdir` (a mistyped storage url)."""
    (tmp_path / "plain").write_text("a file, not a folder", encoding="utf-8")
    config = tmp_path / "contacthub.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/plain/db/hub.db"\n', "utf-8")
    result = run("agent", "list", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: cannot make the database's folder {tmp_path}/plain/db: Not a directory"
    )
    served = run("serve", "--workers", "2", "--config", str(config))
    assert (served.returncode, served.stdout) == (1, "")  # said once, and never "serving"
    assert served.stderr == result.stderr
