"""`contacthub customer erase ID`: a customer's personal data erased, with a receipt.

Like the agent and token commands it touches only the store (and the attachment files of
`[storage] blob_dir`), so it reads only `[storage]` of the config.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from core.model import MAX_ID
from core.retention import Erasure
from hub.cli.common import config_option
from hub.cli.logs import configure_logging
from hub.cli.people import storage_url, with_store
from hub.desk.retention import erase_customer
from hub.settings.tree import StorageSettings, load_storage_settings
from storage.blobs import BlobStore


@click.group()
def customer() -> None:
    """Customers in the store."""


@customer.command()
@click.argument("customer_id", type=click.IntRange(min=1, max=MAX_ID), metavar="ID")
@click.option("--by", default="admin", show_default=True, help="Who erases (on the record).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the receipt as JSON.")
@config_option
def erase(customer_id: int, by: str, yes: bool, as_json: bool, config: Path | None) -> None:
    """Erase customer ID (and those merged into it): identities, name, message texts,
    attachments, search entries and the keys naming them. Tickets stay, anonymised, with
    a `customer_erased` event; reports keep their counts. Cannot be undone."""
    configure_logging("warning")  # stdout is the receipt's
    url = storage_url(config)
    settings = StorageSettings() if config is None else load_storage_settings(config, os.environ)
    if not yes:
        click.confirm(f"Erase customer {customer_id}? This cannot be undone", abort=True)
    blobs = BlobStore(settings.blob_dir)
    receipt = with_store(
        url, lambda store: erase_customer(store, blobs, customer_id, by, datetime.now(UTC))
    )
    click.echo(json.dumps(receipt.as_json()) if as_json else receipt_text(receipt))


def receipt_text(receipt: Erasure) -> str:
    """The receipt as a short table: counts only, never what was erased."""
    merged = [c for c in receipt.customers if c != receipt.customer_id]
    also = f" (and merged into it: {', '.join(map(str, merged))})" if merged else ""
    tickets = ", ".join(map(str, receipt.tickets)) or "none"
    closed = ", ".join(map(str, receipt.closed)) or "none"
    rows = [
        ("identities", str(receipt.identities)),
        ("tickets kept", f"{len(receipt.tickets)} (anonymised: {tickets})"),
        ("tickets closed", f"{len(receipt.closed)} (live work: {closed})"),
        ("messages", str(receipt.messages)),
        ("attachments", f"{receipt.attachments} (files deleted: {receipt.blobs_deleted})"),
        ("search entries", str(receipt.search_entries)),
        ("keys", str(receipt.keys)),
        ("events scrubbed", str(receipt.events_scrubbed)),
    ]
    lines = [f"erased customer {receipt.customer_id}{also}"]
    return "\n".join(lines + [f"  {name:<16}{value}" for name, value in rows])
