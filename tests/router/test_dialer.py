"""What a call's status callback means for its attempt."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.campaigns import RETRYABLE, CallOutcome
from router.dialer import call_outcome, is_machine

STATUSES = ["queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer",
            "failed", "canceled"]  # fmt: skip
ANSWERED_BY = ["", "human", "unknown", "fax", "machine_start", "machine_end_beep",
               "machine_end_silence", "machine_end_other"]  # fmt: skip

TABLE = [
    pytest.param("completed", "", CallOutcome.ANSWERED, id="answered-without-amd"),
    pytest.param("completed", "human", CallOutcome.ANSWERED, id="a-person"),
    pytest.param("completed", "unknown", CallOutcome.ANSWERED, id="amd-unsure-is-a-person"),
    pytest.param("completed", "machine_start", CallOutcome.VOICEMAIL, id="machine"),
    pytest.param("completed", "machine_end_beep", CallOutcome.VOICEMAIL, id="machine-beep"),
    pytest.param("completed", "fax", CallOutcome.FAILED, id="fax"),
    pytest.param("busy", "", CallOutcome.BUSY, id="busy"),
    pytest.param("no-answer", "", CallOutcome.NO_ANSWER, id="no-answer"),
    pytest.param("failed", "", CallOutcome.FAILED, id="failed"),
    pytest.param("canceled", "", CallOutcome.NO_ANSWER, id="canceled"),
    pytest.param("ringing", "", None, id="still-ringing"),
    pytest.param("in-progress", "human", None, id="still-talking"),
]


@pytest.mark.parametrize(("status", "answered_by", "expected"), TABLE)
def test_a_final_status_decides_the_attempt(
    status: str, answered_by: str, expected: CallOutcome | None
) -> None:
    assert call_outcome(status, answered_by) is expected


@given(status=st.sampled_from(STATUSES), answered_by=st.sampled_from(ANSWERED_BY))
def test_every_outcome_is_answered_or_one_the_retry_policy_knows(
    status: str, answered_by: str
) -> None:
    outcome = call_outcome(status, answered_by)
    assert outcome is None or outcome is CallOutcome.ANSWERED or outcome in RETRYABLE
    if outcome is CallOutcome.VOICEMAIL:
        assert is_machine(answered_by)
