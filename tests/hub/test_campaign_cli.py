"""`contacthub campaign load | dnc` as outbound teams run them: real processes, real files."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from storage.base import open_store
from tests.hub.serving import cli, environment, write_config

LIST = (
    "\ufeffTelephone;Name;Notes\n"
    "(212) 555-0100;Ada;\n"
    '+1 415 555 0101;Grace;"calls back; after 5"\n'
    "555-0100;No area code;\n"
    "2125550100;Ada twice;\n"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, env=environment(), timeout=120, check=False
    )


async def stored_states(tmp_path: Path, name: str) -> dict[str, int]:
    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    await store.open()
    try:
        campaign = await store.get_campaign(name)
        counts = await store.campaign_counts(campaign.id, [], datetime.now(UTC))
        return dict(counts.by_state)
    finally:
        await store.close()


async def test_load_creates_the_campaign_and_reports_every_row(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    path = tmp_path / "spring.csv"
    path.write_text(LIST, encoding="utf-8")
    result = run("campaign", "load", "spring", str(path), "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "campaign 'spring' (id 1, created (paused: start it to call))" in out
    for label, count in (("read", 4), ("accepted", 2), ("invalid", 1), ("in the list", 1)):
        assert any(label in line and f" {count} " in line for line in out.splitlines()), out
    assert "not a valid phone number: '555-0100'" in out
    assert "spring.csv" in result.stderr  # the progress bar
    assert await stored_states(tmp_path, "spring") == {"queued": 2}
    again = run("campaign", "load", "spring", str(path), "--config", str(config), "--workers", "0")
    assert again.returncode == 0, again.stderr
    assert "campaign 'spring' (id 1, paused)" in again.stdout
    assert any("in the campaign" in line and " 3 " in line for line in again.stdout.splitlines())


async def test_load_reads_other_headers_with_map(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    path = tmp_path / "list.csv"
    path.write_text("Tel,Mobile\n2125550100,6465550100\n", encoding="utf-8")
    refused = run("campaign", "load", "spring", str(path), "--config", str(config))
    assert refused.returncode == 1
    assert "two columns are phone" in refused.stderr
    assert "Traceback" not in refused.stderr
    mapped = run(
        "campaign", "load", "spring", str(path), "--map", "phone=Mobile", "--config", str(config),
        "--workers", "0",
    )  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    assert "columns not read: Tel" in mapped.stdout


def test_load_refuses_a_bad_name_and_a_bad_mapping(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    path = tmp_path / "list.csv"
    path.write_text("phone\n2125550100\n", encoding="utf-8")
    bad_name = run("campaign", "load", "2026 spring", str(path), "--config", str(config))
    assert bad_name.returncode == 1
    assert "campaign name '2026 spring'" in bad_name.stderr
    bad_map = run(
        "campaign", "load", "spring", str(path), "--map", "phone", "--config", str(config)
    )
    assert bad_map.returncode == 2
    assert "COLUMN=HEADER" in bad_map.stderr


def test_dnc_puts_numbers_on_the_list(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    path = tmp_path / "dnc.txt"
    path.write_text("(212) 555-0100\n212.555.0100\nnope\n", encoding="utf-8")
    result = run("campaign", "dnc", str(path), "--source", "registry", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "3 rows, 1 numbers added, 0 already listed, 1 invalid" in result.stdout
    assert "not a phone number: 'nope'" in result.stdout


def test_a_map_naming_a_missing_column_says_so_and_lists_the_columns(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    path = tmp_path / "spring.csv"
    path.write_text(LIST, encoding="utf-8")
    args = ("campaign", "load", "spring", str(path), "--map", "phone=Cell", "--config")
    result = run(*args, str(config))
    assert result.returncode == 1
    assert "no column 'Cell' (for phone) in the header; its columns: 'Telephone'" in result.stderr
    assert "nothing was loaded" in result.stderr


def test_load_refuses_to_create_a_campaign_on_a_queue_the_rules_make_inbound(
    tmp_path: Path,
) -> None:
    config, _ = write_config(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "queues:\n  general: {}\n  calls: {kind: outbound}\ndefault: {queue: general}\n"
    )
    config.write_text(config.read_text() + f'[routing]\nrules = "{rules}"\n')
    path = tmp_path / "spring.csv"
    path.write_text(LIST, encoding="utf-8")
    refused = run(
        "campaign", "load", "spring", str(path), "--queue", "general", "--config", str(config)
    )
    assert refused.returncode == 1
    assert "queue 'general' is an inbound queue in the rules" in refused.stderr
    assert "Traceback" not in refused.stderr
    made = run("campaign", "load", "spring", str(path), "--queue", "calls", "--config", str(config))
    assert made.returncode == 0, made.stderr
    assert "created" in made.stdout


def test_load_with_a_rules_file_that_is_gone_says_so(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    config.write_text(config.read_text() + f'[routing]\nrules = "{tmp_path / "gone.yaml"}"\n')
    path = tmp_path / "spring.csv"
    path.write_text(LIST, encoding="utf-8")
    refused = run("campaign", "load", "spring", str(path), "--config", str(config))
    assert refused.returncode == 1
    assert f"cannot read rules file {tmp_path / 'gone.yaml'}" in refused.stderr
    assert "Traceback" not in refused.stderr
