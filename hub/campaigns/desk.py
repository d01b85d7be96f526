"""Outbound campaigns, the hub's side: the router's decisions applied to the store.

`CampaignDesk` is what the API and the CLI call: it creates campaigns with the configured
defaults, asks the router which slots are callable before it asks the store for the next
contact, turns an outcome into the contact's next state, and adds rates and windows to the
store's counts. `CallbackEnrolment` puts inbound callers whose contact a rule sent to a
campaign (`campaign: NAME`, e.g. callback requests and missed calls) into that campaign.

Enrolment runs after the ticket's commit (a step of the Ingest, told the decision the
commit kept), not inside it: the contact needs the caller's time zones and the campaign's
defaults, which the store's atomic ingest does not have. The ticket is committed first; if
the hub dies (or the store fails) before the enrolment, the ticket is kept and routed (to
the callbacks queue the same rule chose, where agents see it) but the campaign lacks its
contact; the failure is logged (`campaign_enrol_failed`).
Enrolment is idempotent (one contact per number and campaign), so a voice event retried
by Twilio enrols again safely, and a finished contact asking again is queued again.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from core.campaigns import (
    REACHED,
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignPolicy,
    CampaignSpec,
    CampaignState,
    ContactBatch,
    Lease,
    NewContact,
)
from core.errors import Conflict, InvalidRequest, NotFound, StorageError
from core.identity import PHONE, mask
from core.model import Decision, Inbound, IngestResult, ascii_digits, whole_id
from hub.settings.campaigns import CampaignSettings
from router import QueueKind, QueueSpec
from router.calling_law import CallingLaw
from router.campaign_lists import list_phone
from router.campaigns import CallingHours, after_outcome, check_policy, is_ended, slot_key
from router.dialer import CONVERSATIONAL
from storage.base import Store

log = structlog.get_logger("contacthub.campaigns")

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
"""Campaign names start with a letter, so a path segment is an id (digits) or a name."""


@functools.lru_cache(maxsize=256)
def calling_hours(policy: CampaignPolicy, law: CallingLaw) -> CallingHours:
    """The compiled window of a policy under the law (frozen values: one compile each)."""
    return CallingHours(policy, law)


@functools.lru_cache(maxsize=8)
def _law(hours: str, countries: tuple[tuple[str, str], ...], unrestricted: bool) -> CallingLaw:
    """The law of a `[campaigns]` section, resolved once (countries to zones)."""
    section = CampaignSettings(legal_hours=hours, legal_hours_by_country=dict(countries),
                               allow_outside_legal_hours=unrestricted)  # fmt: skip
    return section.law()


def announce_law(settings: CampaignSettings) -> None:
    """Say loudly, once at start, that the operator lifted the legal calling hours."""
    if settings.allow_outside_legal_hours:
        log.warning("calling_hours_unrestricted", setting="campaigns.allow_outside_legal_hours",
                    effect="campaigns call at any hour their own window allows")  # fmt: skip


@dataclass(frozen=True, slots=True)
class CampaignStats:
    campaign: Campaign
    counts: CampaignCounts
    callable_now: int
    next_opening: datetime | None
    ended: bool

    @property
    def attempts(self) -> int:
        return sum(self.counts.by_outcome.values())

    @property
    def contact_rate(self) -> float | None:
        """Attempts a person answered, of the attempts that reached an outcome."""
        made = self.attempts - self.counts.by_outcome.get(CallOutcome.EXPIRED, 0)
        reached = sum(n for outcome, n in self.counts.by_outcome.items() if outcome in REACHED)
        return None if made == 0 else round(reached / made, 4)


def refuse_inbound_queue(queues: Mapping[str, QueueSpec], queue: str) -> None:
    """A campaign's calls land in its queue: one the rules make inbound is refused (a queue
    the rules do not name is let be, as the embedded rules name none of the outbound kind)."""
    spec = queues.get(queue)
    if spec is not None and spec.kind is not QueueKind.OUTBOUND:
        raise InvalidRequest(
            f"queue {queue!r} is an {spec.kind} queue in the rules: a campaign calls from an "
            "outbound one (kind: outbound)"
        )


@dataclass(frozen=True, slots=True)
class CampaignDesk:
    store: Store
    settings: CampaignSettings

    @property
    def law(self) -> CallingLaw:
        s = self.settings
        countries = tuple(sorted(s.legal_hours_by_country.items()))
        return _law(s.legal_hours, countries, s.allow_outside_legal_hours)

    def hours(self, campaign: Campaign) -> CallingHours:
        """The campaign's window under the law in force (the config's, never the campaign's)."""
        return calling_hours(campaign.policy, self.law)

    def spec(self, name: str, queue: str | None = None, **fields: object) -> CampaignSpec:
        """A campaign with the configured defaults, some replaced."""
        spec = CampaignSpec(name, queue or self.settings.queue, self.settings.caller_id,
                            self.settings.policy())  # fmt: skip
        return replace(spec, **fields)  # type: ignore[arg-type]  # fields are CampaignSpec's own, checked by the API body

    async def create(self, spec: CampaignSpec, now: datetime) -> Campaign:
        if not re.fullmatch(NAME_PATTERN, spec.name):
            raise InvalidRequest(
                f"campaign name {spec.name!r}: a letter, then letters, digits, '_', '.' or '-'"
            )
        problems = check_policy(spec.policy)
        if problems:
            raise InvalidRequest(f"campaign {spec.name!r}: " + "; ".join(problems))
        return await self.store.create_campaign(spec, now)

    async def ensure(self, spec: CampaignSpec, now: datetime) -> tuple[Campaign, bool]:
        """The campaign named in `spec`, created from it when absent; (campaign, created)."""
        try:
            return await self.store.get_campaign(spec.name), False
        except NotFound:
            pass
        try:
            return await self.create(spec, now), True
        except Conflict:  # another caller created it in between
            return await self.store.get_campaign(spec.name), False

    async def find(self, key: str) -> Campaign:
        """A path segment: digits are an id, anything else a name."""
        number = whole_id(key) if ascii_digits(key) else None
        if ascii_digits(key) and number is None:
            raise NotFound("campaign", key[:40])
        return await self.store.get_campaign(key if number is None else number)

    def halted(self, campaign: Campaign, now: datetime) -> str | None:
        """Why the campaign calls nobody now (paused, stopped, ended), or None: it runs."""
        if campaign.state is not CampaignState.RUNNING:
            return campaign.state.value
        return "ended" if is_ended(campaign.policy, now) else None

    async def next_opening(self, campaign: Campaign, now: datetime) -> datetime | None:
        """When a number outside its window now next becomes callable (before the end)."""
        slots = await self.store.campaign_slots(campaign.id)
        hours = self.hours(campaign)
        return self._opening(campaign, hours, slots, hours.open_slots(slots, now), now)

    def _opening(  # the slots, as stats and next_opening already have them
        self,
        campaign: Campaign,
        hours: CallingHours,
        slots: list[str],
        open_now: list[str],
        now: datetime,
    ) -> datetime | None:
        if is_ended(campaign.policy, now):
            return None
        closed = [slot for slot in slots if slot not in open_now]
        opening = hours.next_opening(closed, now)
        ends = campaign.policy.ends_at
        return opening if opening is None or ends is None or opening < ends else None

    async def callable_slots(self, campaign: Campaign, now: datetime) -> list[str]:
        """The slots callable now ([] when the campaign calls nobody)."""
        if self.halted(campaign, now) is not None:
            return []
        slots = await self.store.campaign_slots(campaign.id)
        return self.hours(campaign).open_slots(slots, now)

    async def next_lease(
        self,
        campaign: Campaign,
        agent: str,
        now: datetime,
        hold: timedelta | None = None,
        slots: list[str] | None = None,
    ) -> Lease | None:
        """The most pressing contact callable *now* (hours, suppression and leases checked
        by the store in the same atomic step), leased to `agent` for `hold` (default: the
        campaign's lease)."""
        callable_slots = await self.callable_slots(campaign, now) if slots is None else slots
        if not callable_slots:
            return None
        until = now + (campaign.policy.lease if hold is None else hold)
        return await self.store.next_contact(campaign.id, callable_slots, agent, now, until)

    async def record(  # noqa: PLR0913  # an outcome is all of these
        self,
        campaign: Campaign,
        attempt_id: int,
        outcome: CallOutcome,
        now: datetime,
        *,
        callback_at: datetime | None = None,
        note: str = "",
        agent: str = "",
    ) -> CampaignContact:
        attempt, contact = await self.store.get_attempt(attempt_id)
        if attempt.campaign_id != campaign.id:
            raise NotFound("attempt", attempt_id)
        refines = attempt.refinable
        if refines and outcome not in CONVERSATIONAL:
            allowed = ", ".join(sorted(CONVERSATIONAL))
            raise InvalidRequest(f"the call was answered: its outcome is one of {allowed}")
        hours = self.hours(campaign)
        try:
            change = after_outcome(
                hours, contact, outcome, now, callback_at, agent or attempt.agent
            )
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        change = replace(change, note=note, refines=refines)
        return await self.store.record_outcome(attempt_id, change, now)

    async def record_call(  # a call's end is all of these
        self,
        campaign: Campaign,
        contact: CampaignContact,
        attempt_id: int,
        outcome: CallOutcome,
        call_sid: str,
        now: datetime,
    ) -> CampaignContact:
        """What a dialled call itself ended as (from its status callback); Conflict when the
        attempt is closed already (a retried callback, or the agent recorded it first)."""
        change = after_outcome(self.hours(campaign), contact, outcome, now)
        return await self.store.record_outcome(attempt_id, replace(change, call_sid=call_sid), now)

    async def stats(self, campaign: Campaign, now: datetime) -> CampaignStats:
        slots = await self.store.campaign_slots(campaign.id)
        hours = self.hours(campaign)
        open_now = hours.open_slots(slots, now)
        counts = await self.store.campaign_counts(campaign.id, open_now, now)
        opening = self._opening(campaign, hours, slots, open_now, now)
        ended = is_ended(campaign.policy, now)
        return CampaignStats(campaign, counts, counts.callable_now, opening, ended)


@dataclass(frozen=True, slots=True)
class CallbackEnrolment:
    """Callers a rule sends to a campaign join it (created running, with the defaults)."""

    desk: CampaignDesk
    region: str

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        """After the commit: the caller of a new ticket whose kept decision names a
        campaign joins it."""
        if result.decision is not None:
            await self.enrol(inbound, result, result.decision)

    async def enrol(self, inbound: Inbound, result: IngestResult, decision: Decision) -> None:
        """The caller joins the campaign `decision` names, if it names one."""
        if decision.campaign is None:
            return
        try:
            batch = await self._enrol(inbound, result, decision)
        except (StorageError, InvalidRequest) as exc:
            log.error("campaign_enrol_failed", campaign=decision.campaign,
                      ticket_id=result.ticket_id, error=exc.message)  # fmt: skip
            return
        if batch is not None:
            log.info("campaign_enrolled", campaign=decision.campaign, ticket_id=result.ticket_id,
                     added=batch.accepted, renewed=batch.renewed)  # fmt: skip

    async def _enrol(
        self, inbound: Inbound, result: IngestResult, decision: Decision
    ) -> ContactBatch | None:
        contact = self._contact(inbound, result, decision)
        if contact is None:
            return None
        now = inbound.received_at
        spec = self.desk.spec(str(decision.campaign), decision.queue, state=CampaignState.RUNNING)
        campaign, _ = await self.desk.ensure(spec, now)
        if self.desk.hours(campaign).next_callable(contact.slot, now) is None:
            log.warning("campaign_never_callable", campaign=campaign.name,
                        phone=mask(contact.phone), slot=contact.slot)  # fmt: skip
            return None
        source = f"ticket:{result.ticket_id}"
        return await self.desk.store.add_contacts(campaign.id, [contact], source, now, renew=True)

    def _contact(
        self, inbound: Inbound, result: IngestResult, decision: Decision
    ) -> NewContact | None:
        phones = [i.value for i in inbound.all_identities if i.kind == PHONE]
        if not phones:
            log.warning("campaign_no_phone", campaign=decision.campaign, ticket_id=result.ticket_id)
            return None
        try:
            e164, zones = list_phone(phones[0], self.region)
        except ValueError:
            log.warning("campaign_bad_phone", campaign=decision.campaign, phone=mask(phones[0]))
            return None
        return NewContact(
            e164, slot_key(zones), inbound.received_at, name=inbound.sender_name,
            external_ref=f"ticket:{result.ticket_id}", notes=inbound.text[:2000],
            priority=decision.priority.rank,
        )  # fmt: skip
