"""The campaign vocabulary's stored form."""

from __future__ import annotations

import json

from core.campaigns import CampaignPolicy, DialerMode


def test_a_policy_round_trips_with_its_dialer() -> None:
    policy = CampaignPolicy(
        dialer=DialerMode.PROGRESSIVE, machine_detection=True, voicemail_url="https://x/y.mp3"
    )
    assert CampaignPolicy.from_json(policy.to_json()) == policy


def test_a_policy_stored_before_the_dialer_dials_nothing_by_itself() -> None:
    stored = json.loads(CampaignPolicy().to_json())
    for key in ("dialer", "machine_detection", "voicemail_url"):
        del stored[key]
    policy = CampaignPolicy.from_json(json.dumps(stored))
    assert (policy.dialer, policy.machine_detection, policy.voicemail_url) == (
        DialerMode.MANUAL, False, "",
    )  # fmt: skip
