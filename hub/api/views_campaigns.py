"""The API's JSON shapes of campaigns, their contacts, leases, stats and list loads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.campaigns import Attempt, Campaign, CampaignContact, DoNotCallRemoval, Lease
from core.duration import format_duration
from hub.api.views import iso
from hub.campaigns.desk import CampaignStats
from hub.campaigns.load import DoNotCallReport, LoadReport
from router.campaigns import CallingHours

Json = dict[str, Any]


def campaign_json(campaign: Campaign) -> Json:
    policy = campaign.policy
    return {
        "id": campaign.id,
        "name": campaign.name,
        "queue": campaign.queue,
        "caller_id": campaign.caller_id,
        "state": campaign.state,
        "hours": policy.hours,
        "days": policy.days,
        "holidays": [d.isoformat() for d in policy.holidays],
        "timezone": policy.timezone,
        "max_attempts": policy.max_attempts,
        "retry": {outcome: format_duration(delay) for outcome, delay in policy.retry},
        "lease": format_duration(policy.lease),
        "ends_at": iso(policy.ends_at),
        "priority": policy.priority,
        "dialer": policy.dialer,
        "machine_detection": policy.machine_detection,
        "voicemail_url": policy.voicemail_url or None,
        "created_at": iso(campaign.created_at),
        "updated_at": iso(campaign.updated_at),
    }


def contact_json(contact: CampaignContact, hours: CallingHours, now: datetime) -> Json:
    local = hours.local_time(contact.slot, now)
    zones, _, preferred_hours = contact.slot.partition("|")
    callable_at = hours.next_callable(contact.slot, max(contact.next_at, now))
    return {
        "id": contact.id,
        "campaign_id": contact.campaign_id,
        "phone": contact.phone,
        "name": contact.name,
        "email": contact.email,
        "external_ref": contact.external_ref,
        "notes": contact.notes,
        "preferred_time": contact.preferred,
        "time_zones": zones.split(",") if zones else [],
        "preferred_hours": preferred_hours or None,
        "local_time": None if local is None else local.isoformat(timespec="minutes"),
        "state": contact.state,
        "attempts": contact.attempts,
        "last_outcome": contact.last_outcome,
        "next_at": iso(contact.next_at),
        "next_callable_at": iso(callable_at),
        "lease_until": iso(contact.lease_until),
        "source": contact.source,
        "line": contact.line or None,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def attempt_json(attempt: Attempt) -> Json:
    return {
        "id": attempt.id,
        "contact_id": attempt.contact_id,
        "agent": attempt.agent,
        "started_at": iso(attempt.started_at),
        "lease_until": iso(attempt.lease_until),
        "ended_at": iso(attempt.ended_at),
        "outcome": attempt.outcome,
        "callback_at": iso(attempt.callback_at),
        "note": attempt.note,
        "call_sid": attempt.call_sid or None,
        "answered_by": attempt.answered_by or None,
        "call_outcome": attempt.call_outcome,
    }


def lease_json(lease: Lease, campaign: Campaign, hours: CallingHours, now: datetime) -> Json:
    return {
        "attempt_id": lease.attempt.id,
        "lease_until": iso(lease.attempt.lease_until),
        "caller_id": campaign.caller_id,
        "contact": contact_json(lease.contact, hours, now),
    }


def stats_json(stats: CampaignStats, now: datetime) -> Json:
    counts = stats.counts
    return {
        "campaign": campaign_json(stats.campaign),
        "at": iso(now),
        "contacts": counts.contacts,
        "by_state": dict(sorted(counts.by_state.items())),
        "by_outcome": dict(sorted(counts.by_outcome.items())),
        "attempts": stats.attempts,
        "attempts_per_contact": {str(n): c for n, c in sorted(counts.attempts_per_contact.items())},
        "contact_rate": stats.contact_rate,
        "callable_now": stats.callable_now,
        "next_window_opening": iso(stats.next_opening),
        "ended": stats.ended,
    }


def report_json(report: LoadReport) -> Json:
    return {
        "campaign": campaign_json(report.campaign),
        "created": report.created,
        "rows": report.rows,
        "accepted": report.accepted,
        "invalid": report.invalid,
        "duplicates": {
            "in_list": report.duplicate_in_list,
            "in_campaign": report.duplicate_in_campaign,
        },
        "suppressed": report.suppressed,
        "delimiter": report.delimiter,
        "ignored_columns": list(report.ignored_columns),
        "problems": [problem_json(p) for p in report.problems],
    }


def dnc_report_json(report: DoNotCallReport) -> Json:
    return {
        "source": report.source,
        "rows": report.rows,
        "added": report.added,
        "already_listed": report.already_listed,
        "invalid": report.invalid,
        "problems": [problem_json(p) for p in report.problems],
    }


def problem_json(problem: Any) -> Json:
    body: Json = {"line": problem.line, "kind": problem.kind, "reason": problem.reason}
    if problem.phone:
        body["phone"] = problem.phone
    return body


def removal_json(removal: DoNotCallRemoval) -> Json:
    return {
        "phone": removal.phone,
        "source": removal.source,
        "added_at": iso(removal.added_at),
        "removed_by": removal.removed_by,
        "reason": removal.reason,
        "removed_at": iso(removal.removed_at),
    }
