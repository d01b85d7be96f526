"""The Store protocol: everything the hub keeps, behind one interface.

Backends are one module each and are opened by URL scheme through `open_store`, which
imports them lazily (the Redis client is not loaded for an SQLite hub). Every backend must
pass the contract suite in tests/storage/.

Errors: a backend raises `StorageUnavailable` when it cannot reach its data (the faces
answer 503 / SMTP 451 so the sender retries), `NotFound` for a missing record, and never
lets a driver's exception escape untranslated.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from core.campaigns import (
    Attempt,
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignSpec,
    CampaignState,
    ContactBatch,
    ContactHistory,
    DoNotCall,
    DoNotCallRemoval,
    Lease,
    NewContact,
    OutcomeChange,
)
from core.customers import CustomerChange, CustomerMerge, CustomerQuery
from core.deadlines import Deadline, SlaMarks
from core.dialer import DialerAgent
from core.errors import ConfigError
from core.model import (
    Customer,
    Delivery,
    Inbound,
    IngestResult,
    Message,
    Page,
    Place,
    QueueStats,
    Replay,
    Role,
    Router,
    RulesVersion,
    ThreadPolicy,
    Ticket,
    TicketChange,
    TicketFilter,
    Token,
    Via,
)
from core.people import (
    Agent,
    AgentChange,
    NewOffer,
    Offer,
    Presence,
    TokenInfo,
    WaitingTicket,
)
from core.periods import Calendar
from core.record import Actor, TicketEvent
from core.retention import Erasure, Purge
from core.saved_replies import SavedReply, SavedReplyDraft
from core.tally import HeldBin, RollupRow, Span


class Store(Protocol):
    """Durable state of the hub. Every method is one atomic operation."""

    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None:
        """Finish pending writes and release every resource."""

    async def ping(self) -> None:
        """Return when the store is usable; raise StorageUnavailable otherwise."""

    async def commit_inbound(
        self, inbound: Inbound, router: Router, policy: ThreadPolicy
    ) -> IngestResult:
        """Dedupe, identify, thread, route and store one contact, all or nothing.

        Thread keys are tried in order; a `ticket:<id>` key (core.model.TICKET_KEY_PREFIX)
        threads only onto a live ticket of the sender's own customer and is never stored.

        The decision stored on a new ticket is `router.decide` of the facts the store read in
        the same atomic operation (tags and open tickets only if the router
        `needs_history`). A backend may also call the router speculatively, before it knows
        whether a ticket will be made (Redis guesses the facts to keep one round trip); the
        router is pure, so an unused decision costs nothing but its time. The result
        carries the decision stored (never a speculative one left unused) and the ticket's
        queue after the commit, so no caller needs to read them back.
        """

    async def get_ticket(self, ticket_id: int) -> Ticket:
        """The ticket with its messages, oldest first."""

    async def ticket_places(self, ticket_ids: Sequence[int]) -> dict[int, Place]:
        """Where each ticket is now: its queue and assignee (None: nobody), in one read; a
        ticket that is not there (purged, never made) is left out. The live event feed's
        reading of the tickets it meets first (hub/api/feed.py)."""

    async def list_tickets(
        self, where: TicketFilter, limit: int = 50, cursor: str | None = None
    ) -> Page[Ticket]:
        """Tickets newest first, without messages, that match every criterion of `where`;
        `next` continues the listing. InvalidRequest for a cursor that is no id
        (core.model.cursor_id). A filter on one selective criterion reads its index, not
        every ticket."""

    async def update_ticket(self, ticket_id: int, change: TicketChange, now: datetime) -> Ticket:
        """Apply a change (core.model.TicketChange) atomically against the ticket as it is:
        NotFound, MoveRefused (a status move core/workflow.py refuses), HeldByOther or
        Conflict (its guards); else the change and its events, in one commit. A change of
        nothing writes nothing."""

    async def claim_next(
        self, queue: str, assignee: str, now: datetime, ticket_id: int | None = None
    ) -> Ticket | None:
        """Hand the most pressing waiting ticket of a queue (priority, then age) that nobody
        is offered, or the ticket `ticket_id` if it is such a one, to one agent; a new ticket
        becomes open. Recorded as the agent's. None when none waits, or when the assignee is
        an agent at capacity on the ticket's channel."""

    async def open_follow_up(self, ticket_id: int, agent: str, now: datetime) -> Ticket:
        """A new ticket following up a closed one, in one atomic step: the closed ticket's
        customer, channel, queue, priority and subject, open and the agent's at once. Its
        record: `created` (the agent's; `follow_up_of`, `channel`), `status` new -> open,
        `assigned`. The closed ticket stays as it is. NotFound; NotFinal for a live one."""

    async def append_outbound(
        self,
        ticket_id: int,
        body: str,
        author: str,
        now: datetime,
        via: Via | None = None,
        sla: SlaMarks | None = None,
    ) -> Message:
        """Record a message to the customer before it is sent (its delivery is the channel's
        business), `queued` unless `via` says otherwise, on the channel `via` names. An
        agent's reply moves a new ticket to open and is recorded as `reply_out`, `author`'s
        (an agent; the system's when empty); an automatic message (`via.automatic`) changes
        nothing of the ticket and is recorded as `acknowledged`, the system's. An agent's
        reply writes `sla` (the marks it leaves) in the same step, as `set_sla` would."""

    async def add_note(self, ticket_id: int, body: str, actor: Actor, now: datetime) -> TicketEvent:
        """Keep an internal note on the ticket's record (never sent); NotFound."""

    async def ticket_events(self, ticket_id: int) -> list[TicketEvent]:
        """The ticket's whole record, oldest first; NotFound for an unknown ticket (a purged
        ticket's record stays, ending with `purged`).

        Every write records what it changed in its own atomic step: created (actor: the rule,
        or the system for the default), message_in and a reopening status (the customer),
        replies, notes, claims and changes (the agent), acknowledgements, deliveries and
        customers' merges (the system). A duplicate contact or a change of nothing records
        nothing."""

    async def events_after(self, seq: int, limit: int = 500) -> list[TicketEvent]:
        """Events of every ticket with a sequence number above `seq`, in order, up to `limit`.
        Sequence numbers increase by one across the hub, with no gap, in commit order."""

    async def last_event_seq(self) -> int:
        """The sequence number of the newest committed event (0 before the first)."""

    async def event_seq_at(self, at: datetime) -> int:
        """The sequence number of the last event stamped before `at` (0 when none), so that
        `events_after` of it starts at the first event stamped at or after `at`: a time range
        of the record read through its key, never a scan. Events are numbered in commit order
        and stamped with the hub's clock, so times follow numbers; an event stamped out of
        order (clocks of two hubs apart) may fall on the other side of a bound."""

    async def rollup(
        self, spans: Sequence[Span], by: str | None, queue: str | None, channel: str | None,
        *, kinds: Sequence[str],
    ) -> list[RollupRow]:  # fmt: skip
        """The report cells (core/tally.py) of `spans` and `kinds`, each times its span's
        sign, summed per span's bucket, per key (`by`: "queue", "channel" or None for one key
        ""), agent and name; only cells of `queue` and `channel` when given. Cells are
        written in the commit of the events they count, so a sum is of one instant's."""

    async def held_bins(
        self, start: float, end: float, at: float, queue: str | None, channel: str | None
    ) -> list[HeldBin]:
        """The holds still running (an assignee on an unresolved ticket) of the tickets
        created in [start, end) (epoch seconds), in `queue` and `channel` when given, their
        handle times at `at` binned per agent (core.tally.held_bins), for reports."""

    async def report_calendar(self) -> Calendar:
        """The calendar the cells keep their days and months by (core/periods.py; UTC unless
        set)."""

    async def set_report_calendar(self, calendar: Calendar) -> None:
        """Keep the cells by `calendar` from now on: they are made again from the tickets'
        tallies or record, in one go. Stop the store's other hubs meanwhile (what they wrote
        while the cells are remade could be counted twice or not at all); a hub that opened
        before learns the new calendar at its next new ticket."""

    async def rollup_horizon(self) -> float | None:
        """The latest time (epoch seconds) of an event the cells count (0 before any): commits
        may land slightly out of time order, so this is not the newest event's time. None
        while a hub fills the cells from the record (an upgrade, a new report calendar on
        Redis): until it is done they count only part of it."""

    async def wait_for_events(self, after: int, within: float) -> None:
        """Return soon after an event numbered above `after` is committed (by any hub of the
        store), at once when one already is, else after at most `within` seconds (a
        backend may return earlier; the caller reads `events_after` to see)."""

    async def known_person(self, name: str) -> bool:
        """Whether `name` is an agent (a person who may hold tickets)."""

    async def record_delivery(self, message_id: int, delivery: Delivery) -> Message:
        """Keep what the channel's sender made of an outbound message: status, provider id
        (found again by `update_delivery`) and, for a failure, the reason; a `delivery` event
        on the ticket's record. NotFound for an unknown or inbound message. An agent's reply
        the provider accepted sets the ticket's `first_responded_at` (core.model.
        FAILED_DELIVERY says when one counts)."""

    async def update_delivery(
        self, channel: str, provider_id: str, delivery: Delivery
    ) -> Message | None:
        """A provider's later status report of an outbound message, by the provider's id; a
        final status (delivered, undelivered, failed, read) is never replaced; a status the
        message did not have is a `delivery` event. None when no outbound message of the
        channel has that id. A reply that fails now (a bounce, an undelivered SMS) no longer
        counts as the ticket's first response: the next accepted reply does, or none."""

    async def edit_message(self, key: str, body: str | None, at: datetime) -> Message | None:
        """Record a customer's edit (the new `body`) or deletion (`body` None, the text kept)
        of the inbound message stored under idempotency key `key` (`Inbound.key`), made at
        `at`. Edits arrive unordered: an edit older than the recorded one changes nothing,
        and after a deletion nothing does; one that takes effect is on the record (the
        customer's). None when no inbound message has that key."""

    async def set_sms_opt_out(self, identity_key: str, opted_out: bool, at: datetime) -> None:
        """Record a customer's SMS opt-out (STOP) or opt-in (START) said at `at`; an older
        word never replaces a newer one."""

    async def sms_opted_out(self, identity_key: str) -> bool:
        """Whether the phone identity ("phone:+1...") opted out of SMS (default: no)."""

    async def get_checkpoint(self, name: str) -> str | None:
        """Where a poller named `name` stopped (e.g. an IMAP mailbox), or None."""

    async def set_checkpoint(self, name: str, value: str) -> None:
        """Keep where a poller stopped; the newest value replaces the old one."""

    async def take_rate_slot(self, key: str, limit: int, window: timedelta, now: datetime) -> bool:
        """Whether one more event for `key` fits `limit` per sliding `window` ending at `now`;
        if it does, it is counted (atomically: every hub on the store shares the limit)."""

    async def set_deadlines(self, ticket_id: int, deadlines: Sequence[Deadline]) -> None:
        """Replace the ticket's SLA deadlines (none: nothing to watch). One unchanged (same
        slot, instance and due time) keeps its claim, if it is claimed."""

    async def set_sla(self, ticket_id: int, marks: SlaMarks) -> bool:
        """Keep the ticket's SLA marks: its standing (the `sla` listing filter and the
        at-risk counts of `queue_stats` follow in the same step), its clocks (`Ticket.sla`)
        and its deadlines (as `set_deadlines`), if `marks.basis` is None or still the
        ticket's newest event; whether they were written. NotFound.

        `update_ticket` writes a change's `sla` the same way, after its basis is checked
        against the record before the change, when the change writes anything; a ticket
        made by `commit_inbound` has its decision's `sla` from the start."""

    async def claim_deadlines(
        self, now: datetime, lease: timedelta, limit: int = 100
    ) -> list[Deadline]:
        """Deadlines due by `now`, oldest first, each claimed until `now + lease`: no other
        caller gets it while the claim lasts; unfinished, it comes back when it ends."""

    async def finish_deadline(self, deadline: Deadline) -> None:
        """Drop a claimed deadline once acted on, unless it was replaced since the claim."""

    async def queue_stats(self) -> list[QueueStats]:
        """Depth and age of every queue that holds live tickets, by name. Depths are counters
        kept in the same atomic operation as every change that moves them; the age is the
        first entry of an index: no call scans the tickets."""

    async def queue_depth(self, queue: str) -> QueueStats:
        """One queue's depth and age as `queue_stats` tells them (zeros for a queue that
        holds no live ticket)."""

    async def waiting_tickets(self, queue: str, limit: int) -> list[Ticket]:
        """Up to `limit` of the queue's waiting tickets (new, open or pending, nobody holds
        them; offered or not), the most pressing first as a claim takes them: priority,
        then age, then id. Listed tickets (no messages), read through the waiting index."""

    # Retention and erasure (core/retention.py).

    async def purge_closed(self, before: datetime, now: datetime, limit: int = 100) -> Purge:
        """Purge up to `limit` closed tickets whose last activity (`updated_at`) is before
        `before`, oldest first, read through an index: their messages, search words, offers,
        deadlines, dedupe entries and index entries go, and their thread keys (or, on Redis,
        they lead nowhere: storage/redis/retention.py); their record stays and gains
        `purged` (the system's, at `now`). The Purge names the blobs no message refers to
        now; an empty one when none is due."""

    async def erase_customer(self, customer_id: int, by: str, now: datetime) -> Erasure:
        """Erase a customer and every customer merged into it: identities (and the keys
        made of them: SMS consent, rate limits), name, name words; on each of their tickets
        the subject, the route's explanation and facts, every message's text, addresses,
        attachments and metadata (an outbound message keeps its provider id), search words,
        dedupe and thread keys, and the free text of notes and reasons on the record, which
        gains `customer_erased` (`by`'s, at `now`). Tickets, their fields and the rest of
        the record stay, so counts and times do not change. NotFound; Conflict for a
        customer merged away (erase the survivor)."""

    async def get_customer(self, customer_id: int) -> Customer:
        """The customer with all their identities; one merged away says into whom."""

    # Customers (core/customers.py). Names are found through an index of `name_words`, never
    # by reading every customer; customers merged away are left out of lists and searches.

    async def list_customers(
        self, query: CustomerQuery | None, limit: int = 50, cursor: str | None = None
    ) -> Page[Customer]:
        """Without a query, customers newest first. With one: on the first page the owners
        of its identities (newest first), then customers by name, ordered by the name's
        first word that starts with the query's first word, then by id; `next` continues."""

    async def update_customer(self, customer_id: int, change: CustomerChange) -> Customer:
        """Rename or retag a customer; NotFound, or Conflict when it was merged away."""

    async def merge_customers(
        self, survivor_id: int, other_id: int, by: str, now: datetime
    ) -> CustomerMerge:
        """Move every identity, ticket and tag of `other` to `survivor` and keep the merge.
        InvalidRequest for a customer and itself; NotFound; Conflict when either was merged
        away already."""

    async def unmerge_customers(
        self, customer_id: int, merge_id: int, by: str, now: datetime
    ) -> CustomerMerge:
        """Undo a merge into `customer_id` exactly: the identities, tickets and tags it moved
        go back (tags the survivor had before stay). NotFound when the customer has no such
        merge; Conflict when it was undone already, or when a later merge depends on it (the
        survivor was merged away since, or a later merge into it took one of the tags this
        one brought), naming that merge."""

    async def customer_merges(self, customer_id: int) -> list[CustomerMerge]:
        """Every merge the customer took part in (either side, undone ones too), oldest first."""

    async def save_rules(
        self, source: str, author: str, now: datetime, expected: int | None = None
    ) -> RulesVersion:
        """Keep a new version of the rules file (every version stays, with author and time).
        With `expected` (the version the new one replaces; 0: none yet), it is kept only if
        that is still the newest, in the same atomic step: RulesChanged otherwise (a version
        saved meanwhile is never silently replaced)."""

    async def current_rules(self) -> RulesVersion | None:
        """The newest saved rules, if any were saved."""

    async def rules_history(self, limit: int = 50) -> list[RulesVersion]:
        """Saved versions, newest first."""

    async def replay(self, limit: int = 500, cursor: str | None = None) -> Page[Replay]:
        """Tickets oldest first, each with its first contact and the facts it was routed on."""

    # People and offers (core/people.py). An agent's load on a channel is what they hold
    # (assigned, active) plus their open offers, kept in the same atomic step as every change
    # that moves it; an automatic offer never takes an agent above capacity, and a ticket
    # never has two open offers or an offer and a holder.

    async def add_token(self, name: str, role: Role | None, digest: str, now: datetime) -> Token:
        """Store an API token of agent `name` by the digest of its secret (the secret itself
        is never kept). With a role, the agent is created or given that role and the token
        grants only it; without, the token grants every role of the agent (NotFound when
        there is no such agent)."""

    async def find_token(self, digest: str) -> Token | None:
        """The live token with this digest, if any, with the roles it grants now."""

    async def list_tokens(self) -> list[TokenInfo]:
        """Every token, live and revoked, oldest first."""

    async def revoke_tokens(self, name_or_id: str | int, now: datetime) -> list[TokenInfo]:
        """Revoke one token (by id) or every live token of an agent (by name); the tokens
        revoked now (none when they were revoked already)."""

    async def put_agent(self, name: str, change: AgentChange, now: datetime) -> Agent:
        """Create or update an agent (core.people.AgentChange says what changes)."""

    async def get_agent(self, name: str) -> Agent:
        """The agent with their presence and load; NotFound."""

    async def list_agents(self) -> list[Agent]:
        """Every agent with their presence and load, by name."""

    async def set_presence(
        self, name: str, presence: Presence | None, now: datetime
    ) -> tuple[Agent, list[Offer]]:
        """Set an agent's presence (None: keep it, a heartbeat) and note the heartbeat; an
        agent who leaves `online` loses their open offers (withdrawn, recorded): they are
        returned. NotFound."""

    async def lapse_presence(self, cutoff: datetime, now: datetime) -> list[Agent]:
        """Every agent not offline whose last heartbeat is older than `cutoff` goes offline
        (their open offers withdrawn); each is returned by exactly one caller."""

    async def waiting_for_offer(self, queue: str, limit: int) -> list[WaitingTicket]:
        """Up to `limit` of the queue's most pressing waiting tickets (priority, then age)
        that nobody holds or is offered, read through the waiting index."""

    async def make_offer(self, offer: NewOffer, now: datetime) -> Offer:
        """Offer a ticket to an agent, recorded with its explanation (the rule's actor).
        Atomically checked: the ticket still waits in `offer.queue` with no open offer, and
        the agent is online with spare capacity on its channel; Conflict naming what
        changed otherwise (nothing is written)."""

    async def answer_offer(
        self, offer_id: int, agent: str, now: datetime, *, accept: bool
    ) -> Offer:
        """The agent accepts (the ticket is theirs, a new one opens, recorded with the
        explanation) or rejects (the ticket waits again; the agent is not offered it again)
        an open offer. NotFound for an unknown offer; Conflict when it is someone else's, no
        longer open, or past its deadline."""

    async def list_offers(self, agent: str | None) -> list[Offer]:
        """Open offers, oldest first: one agent's, or everyone's (None)."""

    async def expire_offers(self, now: datetime, limit: int = 100) -> list[Offer]:
        """Open offers whose deadline has passed end `expired` (recorded, the clock's) and
        their agents go away; each is returned by exactly one caller, across hubs."""

    async def next_offer_deadline(self) -> datetime | None:
        """The earliest deadline of an open offer."""

    # Outbound campaigns (core/campaigns.py). The store never decides calling hours: each
    # contact carries a slot (its time zones and preferred hours), the router names the
    # slots callable at a moment, and the store looks only at contacts in those slots.

    async def create_campaign(self, spec: CampaignSpec, now: datetime) -> Campaign:
        """A new campaign; Conflict when the name is taken."""

    async def get_campaign(self, key: int | str) -> Campaign:
        """The campaign with this id (int) or name (str); NotFound."""

    async def list_campaigns(self) -> list[Campaign]:
        """Every campaign, oldest first."""

    async def set_campaign_state(
        self, campaign_id: int, state: CampaignState, now: datetime
    ) -> Campaign:
        """Start, pause or stop; Conflict when starting or pausing a stopped campaign."""

    async def add_contacts(
        self,
        campaign_id: int,
        contacts: Sequence[NewContact],
        source: str,
        now: datetime,
        *,
        renew: bool = False,
    ) -> ContactBatch:
        """Add normalised contacts (E.164, slot) from one `source` (a list load, a ticket).

        A number on the do-not-call list or opted out of SMS is suppressed: counted, never
        stored. A number already in the campaign is a duplicate, "in the list" when the
        stored one came from the same source, else "in the campaign"; with `renew`, one in
        a renewable final state (core.campaigns.RENEWABLE_STATES) is queued again instead.
        Each contact is written whole; a backend may apply a large batch in parts.
        """

    async def campaign_slots(self, campaign_id: int) -> list[str]:
        """The distinct slots of the campaign's contacts (few: zone sets x preferred hours)."""

    async def next_contact(
        self,
        campaign_id: int,
        slots: Sequence[str],
        agent: str,
        now: datetime,
        lease_until: datetime,
    ) -> Lease | None:
        """Lease the most pressing due contact (highest rank, then longest due) of the given
        open slots to `agent` until `lease_until`, with a new open attempt; atomically, so
        no two callers get the same contact. First, leases ended by `now` go back to the
        queue in their old place (their attempts end `expired`); a contact whose number has
        become do-not-call is suppressed on the way. None when the campaign is not running
        or nothing is due."""

    async def get_attempt(self, attempt_id: int) -> tuple[Attempt, CampaignContact]:
        """An attempt and its contact; NotFound."""

    async def record_outcome(
        self, attempt_id: int, change: OutcomeChange, now: datetime
    ) -> CampaignContact:
        """Close an open attempt with its outcome and move its contact to the state the
        router chose (attempts + 1); `change.do_not_call` also puts the number on the
        do-not-call list. Conflict when the attempt is closed: an outcome was recorded, or
        its lease ended and the contact went back to the queue. A lease past its end whose
        contact was not taken back yet still accepts its outcome."""

    async def get_contact(self, contact_id: int) -> ContactHistory:
        """A contact with every attempt, oldest first; NotFound."""

    async def add_do_not_call(self, phones: Sequence[str], source: str, now: datetime) -> int:
        """Put E.164 numbers on the do-not-call list (with source and date; the first entry
        of a number stays) and suppress queued contacts with them in every campaign.
        Returns how many numbers were new to the list."""

    async def get_do_not_call(self, phone: str) -> DoNotCall | None:
        """The number's do-not-call entry, if any."""

    async def campaign_counts(
        self, campaign_id: int, slots: Sequence[str], now: datetime
    ) -> CampaignCounts:
        """Contacts by state and by attempts made, attempts by outcome, and the contacts
        due now in the given open slots."""

    async def remove_do_not_call(
        self, phone: str, by: str, reason: str, now: datetime
    ) -> DoNotCallRemoval | None:
        """Take a number off the do-not-call list, keeping the entry with who removed it and
        why; None when it was not listed. Contacts already suppressed stay suppressed."""

    async def do_not_call_removals(self, phone: str) -> list[DoNotCallRemoval]:
        """The number's removals from the do-not-call list, oldest first."""

    # The dialer (core/dialer.py). `record_outcome` with `change.call_sid` records what a
    # call ended as; with `change.refines` an agent's outcome replaces a dialled `answered`.
    async def set_call(self, attempt_id: int, call_sid: str, answered_by: str = "") -> Attempt:
        """Note the Twilio call that dials an attempt (the first sid stays) and, once known,
        who answered it; NotFound."""

    async def end_call(self, attempt_id: int, call_sid: str, outcome: CallOutcome) -> bool:
        """Note what a dialled call ended as, once: True the first time (the caller then
        records the outcome and frees the agent), False for a repeated status callback."""

    async def put_dialer_agent(
        self, name: str, campaign_id: int, endpoint: str, now: datetime, *, ready: bool
    ) -> DialerAgent:
        """Create or update an outbound agent's dialer entry (a busy agent stays busy)."""

    async def get_dialer_agent(self, name: str) -> DialerAgent:
        """The agent's dialer entry; NotFound."""

    async def ready_dialer_agents(self, campaign_id: int, now: datetime) -> list[DialerAgent]:
        """The campaign's agents that are ready and on no dial now, by name."""

    async def take_dialer_agent(
        self, name: str, now: datetime, busy_until: datetime
    ) -> DialerAgent | None:
        """Atomically: the agent, now busy until `busy_until`, if they were ready and free;
        else None (another dial, on any hub, has them)."""

    async def release_dialer_agent(
        self, name: str, now: datetime, ready: bool | None = None
    ) -> DialerAgent | None:
        """The agent free again (and ready or not, when `ready` says); None if unknown."""

    # Saved replies (core/saved_replies.py): a name is taken whatever its case.
    async def list_saved_replies(self) -> list[SavedReply]:
        """Every saved reply, by name (case-folded)."""

    async def save_reply(
        self, reply_id: int | None, draft: SavedReplyDraft, by: str, now: datetime
    ) -> SavedReply:
        """A new saved reply (`reply_id` None) or one replaced whole; Conflict when another
        has the name or the store holds MAX_SAVED_REPLIES, NotFound for an unknown id."""

    async def delete_saved_reply(self, reply_id: int) -> None:
        """Delete it; NotFound for an unknown id."""


BACKENDS = {
    "sqlite": "storage.sqlite.store:SqliteStore",
    "redis": "storage.redis.store:RedisStore",
    "redis+cluster": "storage.redis.store:RedisStore",
}
"""URL scheme -> "module:class". A backend's constructor takes the URL."""


def open_store(url: str) -> Store:
    """The backend for a storage URL, constructed but not yet opened."""
    scheme = urlsplit(url).scheme
    target = BACKENDS.get(scheme)
    if target is None:
        hint = difflib.get_close_matches(scheme, BACKENDS, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(
            f"storage.url: unknown scheme {scheme!r}{did_you_mean}; "
            f"known: {', '.join(sorted(BACKENDS))}"
        )
    module_name, _, class_name = target.partition(":")
    backend: type[Store] = getattr(importlib.import_module(module_name), class_name)
    return backend(url)  # type: ignore[call-arg]  # the protocol says nothing of __init__
