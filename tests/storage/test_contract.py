"""The Store contract: what every backend must do, proven on each of them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.errors import Conflict, InvalidRequest, NotFound, RulesChanged, StorageUnavailable
from core.model import (
    UNASSIGN,
    Attachment,
    CustomerFacts,
    Decision,
    Direction,
    Identity,
    Inbound,
    Outcome,
    Priority,
    Role,
    Status,
    ThreadPolicy,
    TicketChange,
    TicketFilter,
)
from storage.base import Store, open_store
from tests.support import T0, FunctionRouter, RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(hours=24))


def fixed_decision(decision: Decision) -> FunctionRouter:
    return FunctionRouter(lambda _contact, _facts: decision)


async def test_first_contact_creates_customer_ticket_and_message(store: Store) -> None:
    router = RecordingRouter("billing")
    result = await store.commit_inbound(inbound("m1", subject="Refund"), router, NO_WINDOW)
    assert result.outcome is Outcome.CREATED
    ticket = await store.get_ticket(result.ticket_id)
    assert (ticket.queue, ticket.status, ticket.subject) == ("billing", Status.NEW, "Refund")
    assert ticket.route.rule == "test"
    assert ticket.route.explanation == ("routed m1",)
    assert [m.body for m in ticket.messages] == ["hello"]
    assert ticket.messages[0].direction is Direction.INBOUND
    customer = await store.get_customer(result.customer_id)
    assert customer.identities == (Identity("email", "ada@example.com"),)
    assert router.calls[0][1].is_new


async def test_same_provider_message_is_stored_once(store: Store) -> None:
    first = await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    again = await store.commit_inbound(inbound("m1", text="changed"), RecordingRouter(), NO_WINDOW)
    assert again.outcome is Outcome.DUPLICATE
    assert (again.ticket_id, again.message_id) == (first.ticket_id, first.message_id)
    assert len((await store.get_ticket(first.ticket_id)).messages) == 1


async def test_concurrent_copies_of_one_message_store_one(store: Store) -> None:
    copies = [store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW) for _ in range(20)]
    results = await asyncio.gather(*copies)
    assert sorted(r.outcome for r in results).count(Outcome.CREATED) == 1
    assert len({r.message_id for r in results}) == 1
    page = await store.list_tickets(TicketFilter())
    assert len(page.items) == 1


async def test_concurrent_first_contacts_of_new_customer_make_one_customer(store: Store) -> None:
    contacts = [inbound(f"m{i}", "phone:+15551230000", channel="sms") for i in range(10)]
    results = await asyncio.gather(
        *(store.commit_inbound(c, RecordingRouter(), DAY_WINDOW) for c in contacts)
    )
    assert len({r.customer_id for r in results}) == 1
    assert len({r.ticket_id for r in results}) == 1
    assert [r.outcome for r in results].count(Outcome.CREATED) == 1


async def test_same_external_id_on_two_channels_are_two_messages(store: Store) -> None:
    a = await store.commit_inbound(inbound("x1", channel="sms"), RecordingRouter(), NO_WINDOW)
    b = await store.commit_inbound(inbound("x1", channel="form"), RecordingRouter(), NO_WINDOW)
    assert a.message_id != b.message_id


async def test_identities_of_two_channels_join_one_customer(store: Store) -> None:
    sms = await store.commit_inbound(
        inbound("s1", "phone:+15551234567", channel="sms"), RecordingRouter(), NO_WINDOW
    )
    both = inbound("f1", "email:ada@example.com", identities=(Identity("phone", "+15551234567"),))
    form = await store.commit_inbound(both, RecordingRouter(), NO_WINDOW)
    mail = await store.commit_inbound(
        inbound("e1", "email:ada@example.com", channel="email"), RecordingRouter(), NO_WINDOW
    )
    assert sms.customer_id == form.customer_id == mail.customer_id
    customer = await store.get_customer(sms.customer_id)
    assert set(customer.identities) == {
        Identity("phone", "+15551234567"),
        Identity("email", "ada@example.com"),
    }


async def test_router_sees_returning_customer_and_open_tickets(store: Store) -> None:
    await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    router = RecordingRouter()
    await store.commit_inbound(inbound("m2", at=later(1)), router, NO_WINDOW)
    facts = router.calls[0][1]
    assert not facts.is_new
    assert facts.open_tickets == 1


async def test_router_without_history_still_learns_whether_customer_is_new(
    store: Store,
) -> None:
    seen: list[CustomerFacts] = []

    def remember(_contact: Inbound, facts: CustomerFacts) -> Decision:
        seen.append(facts)
        return Decision("general")

    router = FunctionRouter(remember, needs_history=False)
    await store.commit_inbound(inbound("m1"), router, NO_WINDOW)
    await store.commit_inbound(inbound("m2", at=later(1)), router, NO_WINDOW)
    assert [f.is_new for f in seen] == [True, False]
    assert seen[1].open_tickets == 0  # not read: the router said it does not need it


async def test_thread_key_appends_to_its_ticket(store: Store) -> None:
    first = await store.commit_inbound(
        inbound("e1", channel="email", thread_keys=("email:<a@x>",)), RecordingRouter(), NO_WINDOW
    )
    router = RecordingRouter()
    reply = await store.commit_inbound(
        inbound("e2", channel="email", thread_keys=("email:<b@x>", "email:<a@x>"), at=later(5)),
        router,
        NO_WINDOW,
    )
    assert reply.outcome is Outcome.APPENDED
    assert reply.ticket_id == first.ticket_id
    assert router.calls == []  # an appended message keeps its ticket's route


async def test_reopen_window_threads_recent_contacts_only(store: Store) -> None:
    policy = ThreadPolicy({"sms": timedelta(hours=1)}, timedelta(0))
    sender = "phone:+15550001111"
    first = await store.commit_inbound(
        inbound("s1", sender, channel="sms"), RecordingRouter(), policy
    )
    near = await store.commit_inbound(
        inbound("s2", sender, channel="sms", at=later(59)), RecordingRouter(), policy
    )
    far = await store.commit_inbound(
        inbound("s3", sender, channel="sms", at=later(59 + 61)), RecordingRouter(), policy
    )
    other_channel = await store.commit_inbound(
        inbound("f1", sender, channel="form", at=later(121)), RecordingRouter(), policy
    )
    assert near.ticket_id == first.ticket_id
    assert far.outcome is Outcome.CREATED
    assert other_channel.ticket_id not in (first.ticket_id, far.ticket_id)


async def test_customer_message_reopens_resolved_ticket_but_not_closed(store: Store) -> None:
    first = await store.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)
    await store.update_ticket(first.ticket_id, TicketChange(status=Status.RESOLVED), later(1))
    reopened = await store.commit_inbound(inbound("m2", at=later(2)), RecordingRouter(), DAY_WINDOW)
    assert reopened.ticket_id == first.ticket_id
    ticket = await store.get_ticket(first.ticket_id)
    assert ticket.status is Status.OPEN
    assert ticket.resolved_at is None
    await store.update_ticket(first.ticket_id, TicketChange(status=Status.CLOSED), later(3))
    fresh = await store.commit_inbound(inbound("m3", at=later(4)), RecordingRouter(), DAY_WINDOW)
    assert fresh.outcome is Outcome.CREATED


async def test_closed_ticket_is_not_threaded_by_its_keys(store: Store) -> None:
    keyed = inbound("e1", channel="email", thread_keys=("email:<a@x>",))
    first = await store.commit_inbound(keyed, RecordingRouter(), NO_WINDOW)
    await store.update_ticket(first.ticket_id, TicketChange(status=Status.CLOSED), later(1))
    reply = inbound("e2", channel="email", thread_keys=("email:<a@x>",), at=later(2))
    result = await store.commit_inbound(reply, RecordingRouter(), NO_WINDOW)
    assert result.outcome is Outcome.CREATED


async def test_sla_due_times_follow_the_decision(store: Store) -> None:
    def decide(_contact: object, _facts: object) -> Decision:
        return Decision(
            "vip", Priority.HIGH, tags=("vip",), first_response=timedelta(hours=1),
            resolution=timedelta(days=1),
        )  # fmt: skip

    result = await store.commit_inbound(inbound("m1"), FunctionRouter(decide), NO_WINDOW)
    ticket = await store.get_ticket(result.ticket_id)
    assert ticket.first_response_due == T0 + timedelta(hours=1)
    assert ticket.resolution_due == T0 + timedelta(days=1)
    assert (ticket.priority, ticket.tags) == (Priority.HIGH, ("vip",))


async def test_failing_router_stores_nothing(store: Store) -> None:
    def broken(_contact: object, _facts: object) -> Decision:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.commit_inbound(inbound("m1"), FunctionRouter(broken), NO_WINDOW)
    assert (await store.list_tickets(TicketFilter())).items == ()
    ok = await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    assert ok.outcome is Outcome.CREATED


async def test_list_tickets_filters_and_pages(store: Store) -> None:
    for i in range(5):
        await store.commit_inbound(
            inbound(f"m{i}", f"email:c{i}@example.com"), RecordingRouter("a" if i % 2 else "b"),
            NO_WINDOW,
        )  # fmt: skip
    first = await store.list_tickets(TicketFilter(), limit=2)
    second = await store.list_tickets(TicketFilter(), limit=2, cursor=first.next)
    third = await store.list_tickets(TicketFilter(), limit=2, cursor=second.next)
    ids = [t.id for page in (first, second, third) for t in page.items]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 5
    assert third.next is None
    in_a = await store.list_tickets(TicketFilter(queue="a"))
    assert {t.queue for t in in_a.items} == {"a"}
    assert len(in_a.items) == 2
    with pytest.raises(InvalidRequest):
        await store.list_tickets(TicketFilter(), cursor="not-a-cursor")


async def test_concurrent_claims_hand_each_ticket_to_one_agent(store: Store) -> None:
    def decide_priority(contact: object, _facts: object) -> Decision:
        urgent = getattr(contact, "subject", "") == "urgent"
        return Decision("q", Priority.URGENT if urgent else Priority.NORMAL)

    for i, subject in enumerate(["normal", "urgent", "normal"]):
        await store.commit_inbound(
            inbound(f"m{i}", f"email:c{i}@x.org", subject=subject, at=later(i)),
            FunctionRouter(decide_priority),
            NO_WINDOW,
        )
    claims = await asyncio.gather(*(store.claim_next("q", f"agent{i}", later(9)) for i in range(4)))
    claimed = [t for t in claims if t is not None]
    assert len(claimed) == 3
    assert len({t.id for t in claimed}) == 3
    assert all(t.status is Status.OPEN and t.assignee for t in claimed)
    assert await store.claim_next("q", "late", later(10)) is None


async def test_claim_order_is_priority_then_age(store: Store) -> None:
    subjects = ["old-normal", "urgent", "new-normal"]
    for i, subject in enumerate(subjects):
        prio = Priority.URGENT if subject == "urgent" else Priority.NORMAL
        await store.commit_inbound(
            inbound(f"m{i}", f"email:c{i}@x.org", subject=subject, at=later(i)),
            fixed_decision(Decision("q", prio)),
            NO_WINDOW,
        )
    order = []
    while (ticket := await store.claim_next("q", "agent", later(9))) is not None:
        order.append(ticket.subject)
    assert order == ["urgent", "old-normal", "new-normal"]


async def test_update_ticket_changes_fields_and_reports_missing(store: Store) -> None:
    result = await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    change = TicketChange(
        status=Status.PENDING, priority=Priority.URGENT, queue="escalated", assignee="bob",
        tags=("a", "b"),
    )  # fmt: skip
    ticket = await store.update_ticket(result.ticket_id, change, later(5))
    assert (ticket.status, ticket.priority, ticket.queue, ticket.assignee, ticket.tags) == (
        Status.PENDING, Priority.URGENT, "escalated", "bob", ("a", "b"),
    )  # fmt: skip
    assert ticket.updated_at == later(5)
    with pytest.raises(NotFound):
        await store.update_ticket(9999, change, later(5))
    with pytest.raises(NotFound):
        await store.get_ticket(9999)
    with pytest.raises(NotFound):
        await store.get_customer(9999)


async def test_ticket_places_are_where_the_tickets_are(store: Store) -> None:
    made = [
        (await store.commit_inbound(inbound(f"m{n}", f"email:c{n}@example.com"),
                                    RecordingRouter("billing"), NO_WINDOW)).ticket_id
        for n in range(3)
    ]  # fmt: skip
    first, moved, unassigned = made
    await store.update_ticket(moved, TicketChange(queue="vip", assignee="bob"), later(1))
    await store.update_ticket(unassigned, TicketChange(assignee="ann"), later(2))
    await store.update_ticket(unassigned, TicketChange(assignee=UNASSIGN), later(3))
    places = await store.ticket_places([*made, moved, 9999])  # a repeat; one never made
    assert places == {first: ("billing", None), moved: ("vip", "bob"),
                      unassigned: ("billing", None)}  # fmt: skip
    for ticket_id in made:
        ticket = await store.get_ticket(ticket_id)
        assert places[ticket_id] == (ticket.queue, ticket.assignee)
    assert await store.ticket_places([]) == {}


async def test_outbound_reply_opens_the_ticket_but_is_no_response_until_sent(
    store: Store,
) -> None:
    result = await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    reply = await store.append_outbound(result.ticket_id, "On it!", "alice", later(3))
    assert reply.direction is Direction.OUTBOUND
    ticket = await store.get_ticket(result.ticket_id)
    assert ticket.first_responded_at is None  # tests/storage/test_contract_responses.py
    assert ticket.status is Status.OPEN
    assert [m.body for m in ticket.messages] == ["hello", "On it!"]


async def test_queue_stats_count_waiting_and_open(store: Store) -> None:
    for i in range(3):
        await store.commit_inbound(
            inbound(f"m{i}", f"email:c{i}@x.org", at=later(i)), RecordingRouter("q"), NO_WINDOW
        )
    await store.claim_next("q", "agent", later(5))
    (stats,) = await store.queue_stats()
    assert (stats.name, stats.waiting, stats.open) == ("q", 2, 3)
    assert stats.oldest_waiting_at == later(1)


async def test_tokens_are_found_by_digest_only(store: Store) -> None:
    token = await store.add_token("alice", Role.AGENT, "d" * 64, T0)
    found = await store.find_token("d" * 64)
    assert found is not None
    assert (found.id, found.name, found.roles) == (token.id, "alice", frozenset({Role.AGENT}))
    assert await store.find_token("e" * 64) is None


async def test_writes_survive_reopening_the_store(store_url: str) -> None:
    first = open_store(store_url)
    await first.open()
    result = await first.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    await first.close()
    second = open_store(store_url)
    await second.open()
    try:
        assert (await second.get_ticket(result.ticket_id)).messages[0].body == "hello"
        again = await second.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
        assert again.outcome is Outcome.DUPLICATE
    finally:
        await second.close()


async def test_two_stores_on_one_database_store_a_message_once(store_url: str) -> None:
    a, b = open_store(store_url), open_store(store_url)
    await a.open()
    await b.open()
    try:
        contacts = [(s, inbound(f"m{i % 5}")) for i, s in enumerate([a, b] * 10)]
        results = await asyncio.gather(
            *(s.commit_inbound(c, RecordingRouter(), DAY_WINDOW) for s, c in contacts)
        )
        assert len({r.message_id for r in results}) == 5
        assert len({r.customer_id for r in results}) == 1
        assert len((await a.get_ticket(results[0].ticket_id)).messages) == 5
    finally:
        await a.close()
        await b.close()


async def test_closed_store_is_unavailable(store_url: str) -> None:
    closed = open_store(store_url)
    await closed.open()
    await closed.close()
    with pytest.raises(StorageUnavailable):
        await closed.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    with pytest.raises(StorageUnavailable):
        await closed.ping()
    with pytest.raises(StorageUnavailable):
        await closed.get_ticket(1)


async def test_rules_versions_are_kept_in_order(store: Store) -> None:
    assert await store.current_rules() is None
    first = await store.save_rules("rules: []\n", "alice", T0)
    second = await store.save_rules("rules: [x]\n", "bob", later(1))
    assert second.version > first.version
    current = await store.current_rules()
    assert current == second
    assert await store.rules_history() == [second, first]
    assert await store.rules_history(limit=1) == [second]


async def test_a_rules_save_over_a_version_saved_meanwhile_is_refused(store: Store) -> None:
    first = await store.save_rules("rules: []\n", "file:rules.yaml", T0, expected=0)
    assert first.version == 1
    with pytest.raises(RulesChanged) as refused:
        await store.save_rules("rules: [x]\n", "token:sue", later(1), expected=0)
    assert (refused.value.expected, refused.value.newest) == (0, 1)
    assert isinstance(refused.value, Conflict)  # the API's 409
    assert await store.rules_history() == [first]  # nothing saved
    second = await store.save_rules("rules: [y]\n", "token:sue", later(2), expected=1)
    assert second.version == 2
    third = await store.save_rules("rules: [z]\n", "token:max", later(3))  # no expectation
    assert third.version == 3


async def test_two_stores_saving_over_one_rules_version_keep_only_one(store_url: str) -> None:
    """Two hubs publish over the same version at once: one save lands, every other is told."""
    a, b = open_store(store_url), open_store(store_url)
    await a.open()
    await b.open()
    try:
        base = await a.save_rules("rules: []\n", "file:rules.yaml", T0)
        saves = [
            s.save_rules(f"rules: [r{i}]\n", f"token:{i}", later(1), expected=base.version)
            for i, s in enumerate([a, b] * 5)
        ]
        outcomes = await asyncio.gather(*saves, return_exceptions=True)
        landed = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(landed) == 1
        assert all(isinstance(o, RulesChanged) for o in outcomes if o not in landed)
        assert [v.version for v in await b.rules_history()] == [base.version + 1, base.version]
        assert await b.current_rules() == landed[0]
    finally:
        await a.close()
        await b.close()


async def test_replay_gives_each_tickets_first_contact_and_facts(store: Store) -> None:
    router = RecordingRouter("q")
    await store.commit_inbound(inbound("m1", subject="first"), router, NO_WINDOW)
    await store.commit_inbound(
        inbound("m2", subject="second", at=later(1), recipient="support@x.org"), router, NO_WINDOW
    )
    await store.commit_inbound(inbound("m3", "email:bob@x.org", at=later(2)), router, NO_WINDOW)
    first_page = await store.replay(limit=2)
    second_page = await store.replay(limit=2, cursor=first_page.next)
    replays = [*first_page.items, *second_page.items]
    assert second_page.next is None
    assert [r.inbound.subject for r in replays] == ["first", "second", ""]
    assert replays[1].inbound.recipient == "support@x.org"
    assert replays[1].inbound.received_at == later(1)
    assert replays[1].route.facts == router.calls[1][1]
    assert replays[0].route.facts.is_new
    assert not replays[1].route.facts.is_new
    assert replays[1].route.facts.open_tickets == 1


async def test_reply_to_a_missing_ticket_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.append_outbound(9999, "hello?", "alice", T0)


async def test_a_token_digest_is_kept_once(store: Store) -> None:
    await store.add_token("alice", Role.AGENT, "d" * 64, T0)
    with pytest.raises(Conflict):
        await store.add_token("mallory", Role.ADMIN, "d" * 64, T0)
    found = await store.find_token("d" * 64)
    assert found is not None
    assert found.name == "alice"


async def test_attachments_and_meta_are_kept_with_the_message(store: Store) -> None:
    files = (
        Attachment("scan.pdf", "application/pdf", 2048, "ab" * 32),
        Attachment("photo.jpg", "image/jpeg", url="https://api.example/media/1"),
    )
    contact = inbound("m1", attachments=files, meta={"thread_ts": "1.2"})
    result = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
    (message,) = (await store.get_ticket(result.ticket_id)).messages
    assert message.attachments == files
    (replay,) = (await store.replay()).items
    assert replay.inbound.attachments == files
    assert dict(replay.inbound.meta) == {"thread_ts": "1.2"}


async def test_close_finishes_the_writes_already_submitted(store_url: str) -> None:
    closing = open_store(store_url)
    await closing.open()
    writes = [
        asyncio.create_task(
            closing.commit_inbound(
                inbound(f"m{i}", f"email:c{i}@x.org"), RecordingRouter(), NO_WINDOW
            )
        )
        for i in range(20)
    ]
    await asyncio.sleep(0)  # every write is submitted
    await closing.close()
    results = await asyncio.gather(*writes)
    assert {r.outcome for r in results} == {Outcome.CREATED}
    reopened = open_store(store_url)
    await reopened.open()
    try:
        assert len((await reopened.list_tickets(TicketFilter())).items) == 20
    finally:
        await reopened.close()
