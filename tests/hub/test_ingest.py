"""The ingest sink: one commit, then the steps after it, in order, told what it decided."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import StorageUnavailable
from core.model import Inbound, IngestResult, Outcome, ThreadPolicy
from hub.app import build_app
from hub.campaigns.desk import CallbackEnrolment
from hub.desk.offers import OfferKick
from hub.ingest import AfterCommit, Ingest
from hub.metrics import Metrics
from hub.rules.routing import Rules, RulesRouter
from hub.state import INGEST
from hub.wiring.acknowledgements import Acknowledger
from hub.wiring.calls import Rerouting
from hub.wiring.email import AttachmentDrops, BounceRecording
from hub.wiring.sms import ConsentRecording
from router import load_ruleset
from storage.base import Store, open_store
from tests.conftest import MakeSettings
from tests.support import inbound, later
from tests.twilio_support import twilio_section

RULES = """
queues:
  vip: {kind: inbound}
  general: {kind: inbound}
rules:
  - name: returning
    when: {customer.is_new: false}
    then: {queue: vip, campaign: loyal}
default: {queue: general}
"""
POLICY = ThreadPolicy({}, timedelta(0))
Told = list[tuple[str, IngestResult, str]]


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both kinds of commit: Redis may ask the router before it knows the facts."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
async def stores(store_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two hubs' stores on one database."""
    a, b = open_store(store_url), open_store(store_url)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


def ingest(store: Store, *steps: AfterCommit) -> Ingest:
    router = RulesRouter(Rules(load_ruleset(RULES, "rules.yaml"), 1))
    return Ingest(store, router, POLICY, Metrics(), steps)


def noting(name: str, told: Told, store: Store) -> AfterCommit:
    """A step that notes what it was told, and the queue the store holds the ticket in."""

    async def step(_contact: Inbound, result: IngestResult) -> None:
        ticket = await store.get_ticket(result.ticket_id)
        told.append((name, result, ticket.queue))

    return step


async def failing(_contact: Inbound, _result: IngestResult) -> None:
    raise StorageUnavailable("the step's store went away")


async def test_steps_run_in_order_once_durable_told_the_decision_kept(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    await ingest(a)(inbound("m1"))
    told: Told = []
    # b never saw the sender: on Redis it first decides as for a stranger, then again
    sink = ingest(b, noting("first", told, b), noting("second", told, b))
    result = await sink(inbound("m2", at=later(1)))
    assert [(name, seen, queue) for name, seen, queue in told] == [
        ("first", result, "vip"), ("second", result, "vip"),
    ]  # fmt: skip
    assert result.decision is not None
    assert (result.decision.queue, result.decision.rule, result.decision.campaign) == (
        "vip", "returning", "loyal",
    )  # fmt: skip


async def test_a_failing_step_fails_the_contact_and_its_retry_runs_the_steps_again(
    stores: tuple[Store, Store],
) -> None:
    store, _ = stores
    told: Told = []
    with pytest.raises(StorageUnavailable):
        await ingest(store, failing, noting("after", told, store))(inbound("m1"))
    assert told == []  # the steps after the failing one did not run
    retried = await ingest(store, noting("again", told, store))(inbound("m1"))
    assert retried.outcome is Outcome.DUPLICATE  # the commit stood
    assert [(name, seen.decision, queue) for name, seen, queue in told] == [
        ("again", None, "general"),
    ]


def test_the_hub_runs_the_steps_of_its_channels_in_the_documented_order(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = make_settings(
        storage={"url": f"sqlite:///{tmp_path / 'hub.db'}", "blob_dir": str(tmp_path / "b")},
        channels={"twilio": twilio_section(), "smtp": {"port": 0, "domains": ["x.example"]}},
        outbound={"smtp": {"port": 2525}},
    )
    steps = build_app(settings)[INGEST].after_commit
    assert [type(step) for step in steps] == [
        CallbackEnrolment, Rerouting, ConsentRecording, BounceRecording, AttachmentDrops,
        Acknowledger, OfferKick,
    ]  # fmt: skip
    plain = build_app(make_settings())[INGEST].after_commit
    assert [type(step) for step in plain] == [CallbackEnrolment, OfferKick]
    forms = build_app(make_settings(outbound={"smtp": {"port": 2525}}))[INGEST].after_commit
    assert [type(step) for step in forms] == [CallbackEnrolment, Acknowledger, OfferKick]
