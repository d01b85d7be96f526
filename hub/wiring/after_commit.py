"""The steps after a contact's commit: one ordered list on the `Ingest` (hub/ingest.py).

Each step runs once the contact is durable and before its channel answers the provider, is
told what the commit did and decided (`IngestResult`: the decision kept for a new ticket,
the ticket's queue), and picks the contacts it is for. In order:

1. `CallbackEnrolment`  a new ticket whose rule names a campaign: the caller joins it
2. `Rerouting`          a call's later event: a rule that fires moves the call's ticket
                        (and enrols the caller when it names a campaign)
3. `ConsentRecording`   an SMS opt-out or opt-in word: the customer's choice is kept
4. `BounceRecording`    a bounce: the email it reports undelivered is marked failed;
   `AttachmentDrops`    attachments over the limits are counted as dropped (hub/drops.py)
5. `Acknowledger`       a person's new ticket by email, or by a web form that gave an email
                        address: one acknowledgement, in the background, kept on the ticket
6. `OfferKick`          a new or followed-up ticket: the offerer looks for an agent for it

Enrolment comes first so that a new ticket's campaign exists before anything else is said
of the contact; the rest touch disjoint contacts. What answers the provider stays in its
channel: the SMS acknowledgement and help TwiML (which the channel has kept on the ticket
before it answers: hub/wiring/sms.py), the voice IVR (which asks the hub where the call
waits: hub/wiring/calls.py), the SMTP reply, IMAP's flags and checkpoint.
"""

from __future__ import annotations

from channels.base import DropReport, unreported
from hub.campaigns.desk import CallbackEnrolment, CampaignDesk
from hub.desk.offers import Offerer, OfferKick
from hub.ingest import AfterCommit
from hub.rules.routing import RulesRouter
from hub.settings.tree import Settings
from hub.wiring.acknowledgements import Acknowledger
from hub.wiring.calls import Rerouting
from hub.wiring.email import email_steps
from hub.wiring.sms import ConsentRecording
from storage.base import Store


def after_commit_steps(
    settings: Settings,
    store: Store,
    router: RulesRouter,
    acknowledger: Acknowledger | None,
    offerer: Offerer,
    dropped: DropReport = unreported,
) -> tuple[AfterCommit, ...]:
    """The steps, in order, of the channels the settings enable."""
    desk = CampaignDesk(store, settings.campaigns)
    enrolment = CallbackEnrolment(desk, settings.routing.default_region)
    steps: list[AfterCommit] = [enrolment]
    if settings.channels.twilio is not None:
        steps += [Rerouting(store, router, enrolment.enrol), ConsentRecording(store)]
    steps += email_steps(settings, store, dropped)
    if acknowledger is not None:
        steps.append(acknowledger)
    steps.append(OfferKick(offerer))
    return tuple(steps)
