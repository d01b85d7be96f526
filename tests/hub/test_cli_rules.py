"""`contacthub rules check | test | simulate` and SIGHUP reload, run as users run them."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import aiohttp

from tests.hub.serving import cli, environment, start_serve, write_config
from tests.hub.test_rules_api import OTHER_RULES, RULES
from tests.support import form_body, form_headers

EXAMPLE = Path(__file__).parents[2] / "config" / "rules.example.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, env=environment(), timeout=60, check=False
    )


def test_check_accepts_the_example_rules() -> None:
    result = run("rules", "check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "ok (11 rules, 5 queues)" in result.stdout


def test_check_names_file_line_and_rule_of_every_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("contains:", "containz:").replace("queue: billing,", "queue: x,"))
    result = run("rules", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:6: rule 'billing words': unknown operator 'containz'" in result.stderr
    assert "unknown queue 'x'" in result.stderr


def test_test_explains_which_rule_fires_and_why() -> None:
    result = run(
        "rules", "test", str(EXAMPLE), "--channel", "sms", "--from", "+15551234567",
        "--text", "refund please", "--at", "2026-11-23T23:00:00+0000",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "queue billing (by rule 'billing words'), priority normal"
    assert (
        "rule 'vip customers': customer.tags contains none of 'vip', 'enterprise'" in result.stdout
    )
    assert "rule 'billing words' matched" in result.stdout


def test_test_with_a_vip_customer_takes_the_vip_rule() -> None:
    result = run("rules", "test", str(EXAMPLE), "--channel", "email", "--tag", "vip", "--returning")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("queue escalated (by rule 'vip customers'), priority high")


async def test_simulate_shows_what_a_draft_would_move(tmp_path: Path) -> None:
    config, port = write_config(tmp_path)
    process = await start_serve(config, port)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for i, text in enumerate(["refund please", "chargeback!", "hello", "invoice?"]):
                body = form_body(f"w{i}", message=text, email=f"c{i}@example.com")
                async with http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
                    assert r.status == 201
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait)
    draft = tmp_path / "draft.yaml"
    draft.write_text(RULES)
    result = run("rules", "simulate", str(draft), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "4 tickets replayed" in result.stdout
    assert "2 would move" in result.stdout
    assert "general" in result.stdout
    assert "billing words" in result.stdout


async def test_sighup_reloads_the_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config, port = write_config(tmp_path)
    config.write_text(config.read_text() + f'[routing]\nrules = "{rules}"\nwatch_interval = "0"\n')
    process = await start_serve(config, port)
    try:
        rules.write_text(OTHER_RULES)
        process.send_signal(signal.SIGHUP)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for attempt in range(100):
                body = form_body(f"w{attempt}", message="chargeback", email="x@example.com")
                async with http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
                    ticket_id = (await r.json())["ticket_id"]
                await asyncio.sleep(0.05)
                if await _queue_of(tmp_path, ticket_id) == "billing":
                    break
            else:
                raise AssertionError("SIGHUP did not reload the rules")
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait)


async def _queue_of(tmp_path: Path, ticket_id: int) -> str:
    import sqlite3

    db = sqlite3.connect(tmp_path / "hub.db")
    try:
        return str(db.execute("SELECT queue FROM tickets WHERE id = ?", (ticket_id,)).fetchone()[0])
    finally:
        db.close()


SLA_RULES = """\
calendars:
  office: {timezone: America/New_York, weekly: {mon-fri: "09:00-17:00"}}
queues:
  general:
    calendar: office
    sla:
      first_response: 4h
      next_response: 2h
      warn_at: 80%
      on_breach: {escalate: true, priority: urgent, tags: [sla-missed]}
  tier2: {tier: 2}
rules:
  - name: vip
    when: {body: {contains: vip}}
    then: {queue: general, sla: {first_response: 30m}}
default: {queue: general}
"""


def test_test_shows_the_sla_a_contact_gets_and_when_it_falls_due(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SLA_RULES)
    result = run(
        "rules", "test", str(rules), "--channel", "email", "--from", "ada@example.com",
        "--text", "vip here", "--at", "2026-11-23T02:47:00-0500",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:4] == [
        "sla: first response 30m, next response 2h (business time: office)",
        "warns at 80%; on breach: escalate to tier2; priority urgent; tags sla-missed",
        "due: first response 2026-11-23 09:30 EST",  # a night contact, due in office hours
    ]


def test_check_reports_every_bad_sla_with_its_line_and_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SLA_RULES.replace("first_response: 4h", "first_response: soon")
        .replace("warn_at: 80%", "warn_at: 100%")
        .replace("{queue: general, sla: {first_response: 30m}}",
                 "{queue: tier2, sla: {first_response: 30m, on_breach: {escalate: true}}}")
    )  # fmt: skip
    result = run("rules", "check", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        f"  - {bad}:7: queue 'general': first_response: not a duration: 'soon' "
        "(use e.g. 90s, 30m, 4h, 2d, 1w)",
        f"  - {bad}:9: queue 'general': warn_at must be a percentage between 0 and 100, not '100%'",
        f"  - {bad}:13: rule 'vip': on_breach escalates, but no queue is above 'tier2'",
    ]
