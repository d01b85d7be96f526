"""The dialer, the pure part: what a call's status callback means for its attempt.

Twilio reports a call's progress to its StatusCallback (`CallStatus`: queued, initiated,
ringing, in-progress, then one of completed, busy, no-answer, failed, canceled) and, with
answering-machine detection on, who picked up (`AnsweredBy`: human, machine_start,
machine_end_beep, machine_end_silence, machine_end_other, fax, unknown). Only the final
status decides the attempt; `unknown` is taken for a person (AMD could not tell, and a
person waiting for an agent must not be hung up on).
"""

from __future__ import annotations

from core.campaigns import CallOutcome

FINAL_STATUSES = {
    "busy": CallOutcome.BUSY,
    "no-answer": CallOutcome.NO_ANSWER,
    "failed": CallOutcome.FAILED,
    "canceled": CallOutcome.NO_ANSWER,  # hung up by us before an answer: nobody picked up
}
MACHINE = frozenset({"machine_start", "machine_end_beep", "machine_end_silence",
                     "machine_end_other"})  # fmt: skip
CONVERSATIONAL = frozenset({
    CallOutcome.ANSWERED, CallOutcome.RESOLVED, CallOutcome.CALLBACK,
    CallOutcome.WRONG_NUMBER, CallOutcome.DO_NOT_CALL,
})  # fmt: skip
"""What an agent may add to a call the dialer recorded as answered."""


def is_machine(answered_by: str) -> bool:
    return answered_by in MACHINE


def call_outcome(status: str, answered_by: str = "") -> CallOutcome | None:
    """The attempt's outcome for a status callback; None while the call is still going."""
    if status == "completed":
        if is_machine(answered_by):
            return CallOutcome.VOICEMAIL
        return CallOutcome.FAILED if answered_by == "fax" else CallOutcome.ANSWERED
    return FINAL_STATUSES.get(status)
