"""`contacthub demo`: the hub on a temporary SQLite, real signed contacts, what came of them.

The hub runs in-process on a free port and is driven over real HTTP, exactly as providers
and agents reach it; then the API is read back and shown as tables.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from rich.console import Console
from rich.table import Table

from channels.base import hmac_sha256_hex
from channels.email.smtp import SmtpChannel
from channels.webform import SIGNATURE_HEADER
from core.model import Role
from hub.app import build_app
from hub.demo import chat as demo_chat
from hub.demo import email as demo_email
from hub.demo import slack as demo_slack
from hub.demo import twilio as demo_twilio
from hub.demo.agents import ann_takes_work
from hub.settings.tree import Settings, parse_settings
from hub.state import CHANNELS, STORE
from hub.tokens import digest, new_secret

FORM_CONTACTS: tuple[dict[str, str], ...] = (
    {
        "external_id": "web-1001",
        "name": "Ada Lovelace",
        "email": "Ada@Example.com",
        "subject": "Refund for order 1042",
        "message": "I was charged twice for order 1042. Could you refund one of them?",
    },
    {
        "external_id": "web-1002",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "(555) 201-0042",
        "subject": "Re: refund",
        "message": "Here is my phone number in case it is easier to call.",
    },
    {
        "external_id": "web-2001",
        "name": "Grace Hopper",
        "phone": "+44 20 7946 0018",
        "subject": "Cannot log in",
        "message": "The password reset link has expired twice today.",
    },
)


@dataclass(frozen=True, slots=True)
class Sent:
    label: str
    status: int
    answer: str


DEMO_RULES = """\
queues:
  general:   {kind: inbound, tier: 1, sla: {first_response: 8h, resolution: 3d}}
  billing:
    kind: inbound
    tier: 1
    sla: {first_response: 4h, resolution: 2d}
    assign: {policy: least_loaded, offer_timeout: 120s}
  escalated: {kind: inbound, tier: 2, sla: {first_response: 1h, resolution: 1d}}
  callbacks: {kind: outbound}
rules:
  - name: billing words
    when: {any: [{body: {contains: [refund, invoice, charged]}}, {subject: {contains: refund}}]}
    then: {queue: billing, tags: [billing]}
  - name: cannot log in
    when: {body: {contains: [password, "log in", locked]}}
    then: {queue: escalated, priority: high, tags: [access]}
  - name: callbacks
    when: {event: {in: [missed_call, callback_request]}}
    then: {queue: callbacks}
default: {queue: general, priority: normal}
"""


def demo_settings(
    workdir: Path,
    form_secret: str,
    twilio_token: str,
    slack: dict[str, Any] | None = None,
    relay_port: int | None = None,
    chat_secret: str | None = None,
) -> Settings:
    rules = workdir / "rules.yaml"
    rules.write_text(DEMO_RULES, encoding="utf-8")
    raw: dict[str, Any] = {
        "server": {"port": 0, "public_url": demo_twilio.PUBLIC_URL},
        "storage": {"url": f"sqlite:///{workdir / 'demo.db'}"},
        "routing": {"rules": str(rules)},
        "threading": {"reopen_window": {"form": "1h"}},
        "channels": {
            "webform": {"secret": form_secret},
            "twilio": demo_twilio.twilio_section(twilio_token),
            **({"slack": slack} if slack else {}),
            **({"webchat": {"secret": chat_secret}} if chat_secret else {}),
        },
    }
    if relay_port is not None:
        smtp, outbound = demo_email.sections(workdir, relay_port)
        raw["channels"]["smtp"], raw["outbound"] = smtp, outbound
        raw["storage"]["blob_dir"] = str(workdir / "blobs")
    return parse_settings(raw, {}, base=workdir, source="demo")


async def run_demo(console: Console) -> None:
    async with contextlib.AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="contacthub-demo-"))
        form_secret, twilio_token = secrets.token_hex(16), demo_twilio.new_auth_token()
        slack_secret, bot_token = demo_slack.new_secrets()
        slack_api = demo_slack.emulator(bot_token)
        slack = demo_slack.slack_section(slack_secret, bot_token, await slack_api.start())
        relay = await stack.enter_async_context(demo_email.relay())
        chat_secret = demo_chat.new_secret()
        settings = demo_settings(Path(tmp), form_secret, twilio_token, slack, relay[1], chat_secret)
        app = build_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{_port(runner)}"
        console.print(f"[bold]contacthub demo[/] - hub on {base}, storage {tmp}/demo.db\n")
        try:
            api_token = new_secret()
            await app[STORE].add_token(
                "demo", Role.SUPERVISOR, digest(api_token), datetime.now(UTC)
            )
            async with aiohttp.ClientSession(base) as http:
                sent = [s async for s in _drive(http, form_secret, twilio_token, slack_secret)]
                sent += [Sent(*answer) for answer in await demo_email.deliver(_smtp_port(app))]
                visitor = await demo_chat.DemoVisitor.connect(http, chat_secret)
                sent += [Sent(*answer) for answer in await visitor.visit()]
                console.print(_sent_table(sent))
                await _show_state(console, http, api_token)
                await _reply_on_slack(console, http, api_token, sent)
                await _reply_on_chat(console, http, api_token, visitor)
                console.print(demo_slack.posted(slack_api))
                console.print(relay[0].summary())
                await ann_takes_work(console, http, app[STORE], api_token)
        finally:
            await runner.cleanup()
            await slack_api.stop()


async def _drive(
    http: aiohttp.ClientSession, form_secret: str, twilio_token: str, slack_secret: str
) -> Any:
    for label, body, signature in _form_requests(form_secret):
        async with http.post(
            "/webhooks/form", data=body, headers={SIGNATURE_HEADER: signature}
        ) as response:
            yield Sent(label, response.status, (await response.text()).strip())
    for request in demo_twilio.requests(twilio_token):
        async with http.post(request.path, data=request.body, headers=request.headers) as response:
            answer = demo_twilio.readable(await response.text())
            yield Sent(request.label, response.status, answer)
    for request in demo_slack.requests(slack_secret):
        async with http.post(request.path, data=request.body, headers=request.headers) as response:
            yield Sent(request.label, response.status, (await response.text()).strip() or "-")


async def _reply_on_slack(
    console: Console, http: aiohttp.ClientSession, token: str, sent: list[Sent]
) -> None:
    """An agent answers the Slack ticket: the reply goes into the customer's Slack thread."""
    first = next(s for s in sent if s.label.startswith("slack message"))
    ticket_id = json.loads(first.answer)["ticket_id"]
    body = {"body": "Sorry Ada, the refund went out today."}
    auth = {"Authorization": f"Bearer {token}"}
    async with http.post(f"/api/tickets/{ticket_id}/reply", json=body, headers=auth) as response:
        message = await response.json()
    console.print(f"\nreply on ticket {ticket_id} ({response.status}): {message['delivery']}")


async def _reply_on_chat(
    console: Console, http: aiohttp.ClientSession, token: str, visitor: demo_chat.DemoVisitor
) -> None:
    """An agent answers the chat: the reply reaches the visitor's open socket."""
    body = {"body": "Yes Ada, it arrives tomorrow."}
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/tickets/{visitor.ticket_id}/reply"
    async with http.post(url, json=body, headers=auth) as response:
        message = await response.json()
    console.print(f"reply on ticket {visitor.ticket_id} ({response.status}): {message['delivery']}")
    console.print(await visitor.reply_shown())


def _form_requests(secret: str) -> Iterator[tuple[str, bytes, str]]:
    key = secret.encode()
    for contact in FORM_CONTACTS:
        body = json.dumps(contact).encode()
        yield f"form {contact['external_id']}", body, "sha256=" + hmac_sha256_hex(key, body)
    first = json.dumps(FORM_CONTACTS[0]).encode()
    yield "form web-1001 (provider retry)", first, "sha256=" + hmac_sha256_hex(key, first)
    yield "form with a forged signature", first, "sha256=" + "0" * 64


async def _show_state(console: Console, http: aiohttp.ClientSession, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    async with http.get("/api/tickets", headers=auth) as response:
        listing = await response.json()
    tickets = []
    for item in listing["items"]:
        async with http.get(f"/api/tickets/{item['id']}", headers=auth) as response:
            tickets.append(await response.json())
    console.print(_ticket_table(tickets))
    async with http.get("/api/queues", headers=auth) as response:
        console.print(_queue_table((await response.json())["items"]))
    for customer_id in sorted({t["customer_id"] for t in tickets}):
        async with http.get(f"/api/customers/{customer_id}", headers=auth) as response:
            customer = await response.json()
        identities = ", ".join(f"{i['kind']}:{i['value']}" for i in customer["identities"])
        console.print(f"customer {customer_id} [bold]{customer['name']}[/]: {identities}")


def _sent_table(sent: list[Sent]) -> Table:
    table = Table(title="contacts sent (signed, over HTTP)")
    for column in ("request", "status", "answer"):
        table.add_column(column)
    for item in sent:
        table.add_row(item.label, str(item.status), item.answer)
    return table


def _ticket_table(tickets: list[dict[str, Any]]) -> Table:
    table = Table(title="tickets")
    columns = ("id", "channel", "queue", "priority", "rule", "customer", "subject", "msgs")
    for column in columns:
        table.add_column(column)
    for t in tickets:
        table.add_row(
            str(t["id"]), t["channel"], t["queue"], t["priority"], t["route"]["rule"] or "default",
            str(t["customer_id"]), t["subject"], str(len(t["messages"])),
        )  # fmt: skip
    return table


def _queue_table(queues: list[dict[str, Any]]) -> Table:
    table = Table(title="queues")
    for column in ("queue", "waiting", "open", "oldest waiting"):
        table.add_column(column)
    for q in queues:
        table.add_row(q["name"], str(q["waiting"]), str(q["open"]), q["oldest_waiting_at"] or "-")
    return table


def _smtp_port(app: web.Application) -> int:
    ports = [c.address[1] for c in app[CHANNELS] if isinstance(c, SmtpChannel) and c.address]
    return ports[0]


def _port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])
