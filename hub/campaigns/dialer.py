"""The dialer: the hub places campaign calls through Twilio and hears how they end.

Agent-first (`POST /api/campaigns/{id}/dial`, any campaign): the hub calls the agent; when
the agent answers, it leases the most pressing callable contact *at that moment* and calls
it, the agent waiting in a conference room named after their call; the contact joins the
room on answer. Progressive (`dialer = "progressive"`, hub/campaigns/progressive.py): for
each ready agent the hub leases a contact and calls it, and puts an answered call through
to the agent's phone or Twilio Client.

Either way the contact is leased by the store's atomic `next_contact` immediately before the
call is placed: one lease per contact (never two dials of it at once), only slots the
router says are callable now (never outside the hours), suppressed numbers skipped (never a
do-not-call or opted-out number). The lease holds for `dial_hold`, so a long conversation
does not hand the contact to anyone else. The call's own status callback records its
outcome (answered, no_answer, busy, failed; with AMD a machine is voicemail) exactly once:
a retried callback finds the attempt closed and changes nothing. The agent then adds the
conversational outcome (resolved, callback, wrong_number, do_not_call) to an answered call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

import structlog
from twilio.twiml.voice_response import VoiceResponse

from channels.twilio import dialer as tw
from channels.twilio.calls import CallRefused, CallRequest, TwilioCalls
from channels.twilio.dialer import BASE, CallEvent
from core.campaigns import Attempt, CallOutcome, Campaign, CampaignContact, Lease
from core.errors import Conflict, NotFound
from core.identity import mask
from hub.campaigns.desk import CampaignDesk
from hub.settings.campaigns import CampaignSettings
from router.dialer import call_outcome, is_machine
from storage.base import Store

log = structlog.get_logger("contacthub.dialer")

AgentFreed = Callable[[str, CallOutcome], None]
"""Told (agent, outcome) when a progressive call ends (hub/campaigns/progressive.py)."""


@dataclass(frozen=True, slots=True)
class DialerUrls:
    """The webhook URLs Twilio is given, under the hub's public URL (signatures use it)."""

    public_url: str

    def url(self, step: str, **query: str | int) -> str:
        text = urlencode({k: str(v) for k, v in query.items()})
        return f"{self.public_url.rstrip('/')}{BASE}/{step}?{text}"


@dataclass(slots=True)
class Recent:
    """Campaigns and their slots as read at most `ttl` seconds ago: each dial and each
    callback needs them, and they change rarely. Nothing that must be current is taken from
    here: the store's next_contact checks the campaign's state and each contact itself."""

    store: Store
    ttl: float = 1.0
    _campaigns: dict[int, tuple[float, Campaign]] = field(default_factory=dict)
    _slots: dict[int, tuple[float, list[str]]] = field(default_factory=dict)

    async def campaign(self, campaign_id: int) -> Campaign:
        found = self._campaigns.get(campaign_id)
        if found is None or found[0] < time.monotonic():
            campaign = await self.store.get_campaign(campaign_id)
            found = self._campaigns[campaign_id] = (time.monotonic() + self.ttl, campaign)
        return found[1]

    async def slots(self, campaign_id: int) -> list[str]:
        found = self._slots.get(campaign_id)
        if found is None or found[0] < time.monotonic():
            slots = await self.store.campaign_slots(campaign_id)
            found = self._slots[campaign_id] = (time.monotonic() + self.ttl, slots)
        return found[1]


@dataclass(slots=True)
class Dialer:
    desk: CampaignDesk
    calls: TwilioCalls
    urls: DialerUrls
    clock: Callable[[], datetime]
    on_agent_freed: AgentFreed | None = None
    recent: Recent = field(init=False)

    def __post_init__(self) -> None:
        self.recent = Recent(self.desk.store)

    @property
    def settings(self) -> CampaignSettings:
        return self.desk.settings

    async def call_agent(self, campaign: Campaign, agent: str, endpoint: str) -> str:
        """Agent-first: ring the agent; their answer asks for the contact. The call's sid."""
        request = CallRequest(
            endpoint, self.caller_id(campaign),
            self.urls.url("agent", campaign=campaign.id, agent=agent),
            self.urls.url("agent-status", campaign=campaign.id, agent=agent),
            timeout=self.settings.ring_timeout,
        )  # fmt: skip
        return await self.calls.place(request)

    def caller_id(self, campaign: Campaign) -> str:
        return campaign.caller_id or self.settings.caller_id

    async def agent_answered(self, event: CallEvent) -> VoiceResponse:
        campaign = await self.desk.store.get_campaign(event.number("campaign"))
        agent, now = event.query.get("agent", ""), self.clock()
        halted = self.desk.halted(campaign, now)
        if halted is not None:
            return tw.say_and_hang_up(f"The campaign is {halted}. Goodbye.")
        lease = await self.desk.next_lease(campaign, agent, now, self.settings.dial_hold)
        if lease is None:
            return tw.say_and_hang_up("Nobody can be called now. Goodbye.")
        if not await self.dial(campaign, lease, bridge=event.call_sid):
            return tw.say_and_hang_up("The call could not be placed. Goodbye.")
        who = lease.contact.name or "the next contact"
        return tw.conference(room(event.call_sid), f"Calling {who}.")

    async def dial(self, campaign: Campaign, lease: Lease, bridge: str = "") -> bool:
        """Call a leased contact; a refused call is recorded as failed at once."""
        attempt = lease.attempt
        query: dict[str, str | int] = {
            "attempt": attempt.id,
            **({"bridge": bridge} if bridge else {}),
        }
        request = CallRequest(
            lease.contact.phone, self.caller_id(campaign), self.urls.url("answer", **query),
            self.urls.url("status", **query),
            machine_detection="Enable" if campaign.policy.machine_detection else "",
            timeout=self.settings.ring_timeout,
        )  # fmt: skip
        try:
            sid = await self.calls.place(request)
        except CallRefused as exc:
            log.warning("dial_refused", attempt=attempt.id, phone=mask(lease.contact.phone),
                        reason=exc.message)  # fmt: skip
            failed = CallOutcome.FAILED
            await self.desk.record_call(
                campaign, lease.contact, attempt.id, failed, "", self.clock()
            )
            return False
        await self.desk.store.set_call(attempt.id, sid)
        log.info("dialled", attempt=attempt.id, agent=attempt.agent, call_sid=sid)
        return True

    async def contact_answered(self, event: CallEvent) -> VoiceResponse:
        attempt, _, campaign = await self._attempt(event)
        await self.desk.store.set_call(attempt.id, event.call_sid, event.answered_by)
        bridge = event.query.get("bridge", "")
        if is_machine(event.answered_by):
            await self._tell_agent(bridge, "An answering machine took the call.")
            return tw.leave_message(campaign.policy.voicemail_url)
        if attempt.outcome is not None:  # the agent closed it already
            return tw.say_and_hang_up("Sorry, this call is no longer needed. Goodbye.")
        if bridge:
            return tw.conference(room(bridge))
        agent = await self.desk.store.get_dialer_agent(attempt.agent)
        return tw.to_agent(agent.endpoint, self.caller_id(campaign), self.settings.ring_timeout)

    async def contact_status(self, event: CallEvent) -> None:
        attempt, contact, campaign = await self._attempt(event)
        outcome = call_outcome(event.status, event.answered_by or attempt.answered_by)
        if outcome is None:
            return  # initiated, ringing, answered: the call goes on
        # end_call and the outcome are two steps: a hub killed between them has not answered,
        # so Twilio retries, and the retry must still record the outcome (end_call is False
        # then, but the attempt is open). Only a recorded outcome makes a callback repeated.
        first = await self.desk.store.end_call(attempt.id, event.call_sid, outcome)
        if not first and attempt.outcome is not None:
            log.info("call_status_repeated", attempt=attempt.id, call_sid=event.call_sid)
            return
        now = self.clock()
        try:
            await self.desk.record_call(campaign, contact, attempt.id, outcome, event.call_sid, now)
        except Conflict:  # the agent recorded the attempt during the call: theirs stands
            if not first:  # or a copy of this callback, being handled at once, recorded it
                log.info("call_status_repeated", attempt=attempt.id, call_sid=event.call_sid)
                return
            log.info("call_outcome_after_agent", attempt=attempt.id, outcome=outcome)
        else:
            log.info("call_outcome", attempt=attempt.id, outcome=outcome, call_sid=event.call_sid)
        bridge = event.query.get("bridge", "")
        if bridge and outcome is not CallOutcome.ANSWERED:
            await self._tell_agent(bridge, f"The call ended: {outcome.replace('_', ' ')}.")
        elif not bridge and self.on_agent_freed is not None:
            self.on_agent_freed(attempt.agent, outcome)

    async def agent_status(self, event: CallEvent) -> None:
        if call_outcome(event.status) not in (None, CallOutcome.ANSWERED):
            log.info("agent_not_reached", agent=event.query.get("agent"), status=event.status)

    async def _attempt(self, event: CallEvent) -> tuple[Attempt, CampaignContact, Campaign]:
        attempt, contact = await self.desk.store.get_attempt(event.number("attempt"))
        if attempt.call_sid and attempt.call_sid != event.call_sid:
            raise NotFound("call of attempt", attempt.id)  # not the call this attempt placed
        return attempt, contact, await self.recent.campaign(attempt.campaign_id)

    async def _tell_agent(self, bridge: str, text: str) -> None:
        """The agent waiting in the room hears why nobody joins, then the call ends."""
        if not bridge:
            return
        try:
            await self.calls.update(bridge, str(tw.say_and_hang_up(text)))
        except CallRefused as exc:  # the agent hung up already: nothing to tell
            log.info("agent_call_gone", call_sid=bridge, reason=exc.message)


def room(agent_call_sid: str) -> str:
    return f"dial-{agent_call_sid}"
