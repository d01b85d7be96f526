"""SLA clocks, golden cases: a ticket's record (written as a script, see sla_helpers) read at
an instant -> each metric's state, due time and business hours elapsed. Every case was worked
by hand against the queues of sla_helpers.RULES (support: New York 09-17 on weekdays, first
response 4h, next response 2h, periodic update 8h, resolution 16h; urgent 1h and 8h)."""

from __future__ import annotations

import pytest

from router.sla import ClockState, clocks
from router.spec import Metric
from tests.router.sla_helpers import LOOKUP, moment, record

NY, BERLIN = "America/New_York", "Europe/Berlin"
FR, NR, PU, RES = (
    Metric.FIRST_RESPONSE,
    Metric.NEXT_RESPONSE,
    Metric.PERIODIC_UPDATE,
    Metric.RESOLUTION,
)

SCRIPTS: dict[str, tuple[str, str]] = {
    "night": (NY, "2026-11-23 02:47 created"),
    "answered": (
        NY,
        """
        2026-11-23 10:00 created
        2026-11-23 11:30 reply
        2026-11-23 14:00 in
        2026-11-23 14:30 in
        2026-11-24 09:30 reply
        """,
    ),
    "pending": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 10:00 reply
        2026-11-23 11:00 status pending
        2026-11-24 10:00 in
        """,
    ),
    "reopened": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 09:30 reply
        2026-11-23 13:00 status resolved
        2026-11-24 09:00 in
        2026-11-24 16:00 status resolved
        2026-11-25 09:00 status closed
        """,
    ),
    "failed": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 10:00 reply failed
        2026-11-23 14:00 reply delivered
        """,
    ),
    "bounced": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 10:00 reply undelivered
        """,
    ),
    "to-tier2": (NY, "2026-11-23 09:00 created\n2026-11-23 10:00 queue tier2"),
    "late-to-tier2": (NY, "2026-11-23 09:00 created\n2026-11-23 12:00 queue tier2"),
    "to-nosla": (NY, "2026-11-23 09:00 created\n2026-11-23 10:00 queue nosla"),
    "to-berlin": (NY, "2026-11-23 09:00 created\n2026-11-23 10:00 queue berlin_q"),
    "late-to-berlin": (NY, "2026-11-23 09:00 created\n2026-11-23 11:30 queue berlin_q"),
    "urgent-later": (NY, "2026-11-23 09:00 created\n2026-11-23 09:30 priority urgent"),
    "calmed": (NY, "2026-11-23 09:00 created support urgent\n2026-11-23 09:50 priority low"),
    "urgent-late": (NY, "2026-11-23 09:00 created\n2026-11-23 11:00 priority urgent"),
    "us-spring": (NY, "2026-03-07 23:00 created nights_q"),
    "us-fall": (NY, "2026-10-31 23:00 created nights_q"),
    "eu-spring": (BERLIN, "2026-03-28 12:00 created always_q"),
    "eu-fall": (BERLIN, "2026-10-24 12:00 created always_q"),
    "berlin-spring": (BERLIN, "2026-03-27 17:00 created berlin_q"),
    "berlin-fall": (BERLIN, "2026-10-23 17:00 created berlin_q"),
    "thanksgiving": (NY, "2026-11-25 15:00 created"),
    "christmas": (NY, "2026-12-24 16:00 created"),
    "berlin-christmas": (BERLIN, "2026-12-23 17:00 created berlin_q"),
    "weekend": (NY, "2026-11-20 15:00 created"),
    "saturday": (NY, "2026-11-21 10:00 created"),
    "plain": (NY, "2026-11-23 02:47 created plain"),
    "plain-pending": (NY, "2026-11-23 02:47 created plain\n2026-11-23 03:00 status pending"),
    "vip": (NY, "2026-11-23 09:00 created support normal vip"),
    "vip-moved": (
        NY,
        """
        2026-11-23 09:00 created support normal vip
        2026-11-23 09:20 queue tier2
        2026-11-23 10:00 queue support
        """,
    ),
    "solved-unanswered": (NY, "2026-11-23 09:00 created\n2026-11-23 10:00 status resolved"),
    "closed-from-new": (NY, "2026-11-23 09:00 created\n2026-11-23 10:00 status closed"),
    "conversation": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 09:30 reply
        2026-11-23 10:00 in
        2026-11-23 11:00 in
        2026-11-23 11:30 reply
        2026-11-23 12:00 in
        """,
    ),
    "pending-resolution": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 09:15 reply
        2026-11-23 10:00 status pending
        2026-11-23 15:00 status open
        """,
    ),
    "pending-over-the-due": (
        NY,
        """
        2026-11-23 09:00 created
        2026-11-23 12:00 status pending
        2026-11-24 09:00 status open
        """,
    ),
    "general": (NY, "2026-11-23 09:00 created nosla"),
}

A, P, W, M, B = (
    ClockState.ACTIVE,
    ClockState.PAUSED,
    ClockState.WARNING,
    ClockState.MET,
    ClockState.BREACHED,
)
# (script, now, metric, state (None: not shown), due (None: none), business hours, id)
Case = tuple[str, str, Metric, ClockState | None, str | None, float, str]
CASES: list[Case] = [
    # The example: created at 02:47 New York time, staffed 09:00-17:00.
    ("night", "2026-11-23 02:47", FR, A, "2026-11-23 13:00", 0, "night-at-creation"),
    ("night", "2026-11-23 08:00", FR, A, "2026-11-23 13:00", 0, "night-before-opening"),
    ("night", "2026-11-23 10:00", FR, A, "2026-11-23 13:00", 1, "night-first-hour"),
    ("night", "2026-11-23 12:00", FR, W, "2026-11-23 13:00", 3, "night-warns-at-75pc"),
    ("night", "2026-11-23 12:59", FR, W, "2026-11-23 13:00", 3 + 59 / 60, "night-a-minute-left"),
    ("night", "2026-11-23 13:00", FR, B, "2026-11-23 13:00", 4, "night-breaches-on-time"),
    ("night", "2026-11-23 18:00", FR, B, "2026-11-23 13:00", 8, "night-breached-still-counts"),
    ("night", "2026-11-23 10:00", RES, A, "2026-11-24 17:00", 1, "night-resolution"),
    ("night", "2026-11-24 15:00", RES, W, "2026-11-24 17:00", 14, "night-resolution-warns"),
    ("night", "2026-11-25 10:00", RES, B, "2026-11-24 17:00", 17, "night-resolution-breach"),
    ("night", "2026-11-23 10:00", NR, None, None, 0, "no-next-response-before-reply"),
    ("night", "2026-11-23 10:00", PU, None, None, 0, "no-periodic-update-before-reply"),
    ("night", "2026-11-23 02:00", FR, None, None, 0, "nothing-before-creation"),
    ("answered", "2026-11-23 12:00", FR, M, "2026-11-23 14:00", 1.5, "answered-in-time"),
    ("answered", "2026-11-23 12:00", PU, A, "2026-11-24 11:30", 0.5, "update-after-reply"),
    ("answered", "2026-11-23 12:00", NR, None, None, 0, "answered-nothing-waiting"),
    ("answered", "2026-11-23 12:00", RES, A, "2026-11-25 10:00", 2, "answered-resolution"),
    ("answered", "2026-11-23 15:00", NR, A, "2026-11-23 16:00", 1, "waiting-from-oldest"),
    ("answered", "2026-11-23 15:30", NR, W, "2026-11-23 16:00", 1.5, "waiting-warns"),
    ("answered", "2026-11-23 16:30", NR, B, "2026-11-23 16:00", 2.5, "waiting-breaches"),
    ("answered", "2026-11-24 10:00", NR, B, "2026-11-23 16:00", 3.5, "answered-late-stays"),
    ("answered", "2026-11-24 10:00", PU, A, "2026-11-25 09:30", 0.5, "update-restarts"),
    ("answered", "2026-11-24 10:00", FR, M, "2026-11-23 14:00", 1.5, "first-stays-met"),
    ("answered", "2026-11-24 10:00", RES, A, "2026-11-25 10:00", 8, "resolution-runs-on"),
    ("pending", "2026-11-23 15:00", RES, P, None, 2, "pending-pauses-resolution"),
    ("pending", "2026-11-24 09:30", RES, P, None, 2, "pending-overnight"),
    ("pending", "2026-11-24 12:00", RES, A, "2026-11-25 16:00", 4, "message-resumes"),
    ("pending", "2026-11-23 15:00", FR, M, "2026-11-23 13:00", 1, "pending-after-reply"),
    ("pending", "2026-11-24 11:00", NR, A, "2026-11-24 12:00", 1, "reopening-message"),
    ("pending", "2026-11-24 11:45", NR, W, "2026-11-24 12:00", 1.75, "reopening-warns"),
    ("pending", "2026-11-24 12:00", NR, B, "2026-11-24 12:00", 2, "reopening-breaches"),
    ("pending", "2026-11-23 15:00", PU, P, None, 1, "pending-pauses-updates"),
    ("pending", "2026-11-24 12:00", PU, A, "2026-11-24 17:00", 3, "updates-resume"),
    ("reopened", "2026-11-23 15:00", RES, M, "2026-11-24 17:00", 4, "resolved-in-time"),
    ("reopened", "2026-11-24 10:00", RES, A, "2026-11-25 13:00", 5, "reopen-carries-time"),
    ("reopened", "2026-11-23 15:00", PU, M, "2026-11-24 09:30", 3.5, "solving-meets-update"),
    ("reopened", "2026-11-24 10:00", NR, A, "2026-11-24 11:00", 1, "reopen-waits-answer"),
    ("reopened", "2026-11-24 10:00", FR, M, "2026-11-23 13:00", 0.5, "reopen-first-met"),
    ("reopened", "2026-11-24 10:00", PU, M, "2026-11-24 09:30", 3.5, "reopen-update-met"),
    ("reopened", "2026-11-25 12:00", RES, M, "2026-11-25 13:00", 11, "resolved-again"),
    ("reopened", "2026-11-25 12:00", NR, B, "2026-11-24 11:00", 7, "solved-late-answer"),
    ("reopened", "2026-11-24 12:00", NR, B, "2026-11-24 11:00", 3, "reopen-answer-late"),
    ("failed", "2026-11-23 10:00:30", FR, M, "2026-11-23 13:00", 1, "reply-not-yet-failed"),
    ("failed", "2026-11-23 12:00", FR, W, "2026-11-23 13:00", 3, "failed-reply-runs-on"),
    ("failed", "2026-11-23 13:30", FR, B, "2026-11-23 13:00", 4.5, "failed-reply-breaches"),
    ("failed", "2026-11-23 15:00", FR, B, "2026-11-23 13:00", 5, "late-delivered-reply"),
    ("failed", "2026-11-23 15:00", PU, A, "2026-11-24 14:00", 1, "update-from-delivered"),
    ("failed", "2026-11-23 12:00", PU, None, None, 0, "failed-reply-no-update"),
    ("bounced", "2026-11-23 11:00", FR, A, "2026-11-23 13:00", 2, "bounced-reply-runs-on"),
    ("bounced", "2026-11-23 10:00:30", FR, M, "2026-11-23 13:00", 1, "before-the-bounce"),
    ("to-tier2", "2026-11-23 10:15", FR, A, "2026-11-23 11:00", 1.25, "tier2-target-applies"),
    ("to-tier2", "2026-11-23 10:45", FR, W, "2026-11-23 11:00", 1.75, "tier2-warns"),
    ("to-tier2", "2026-11-23 11:00", FR, B, "2026-11-23 11:00", 2, "tier2-breaches"),
    ("to-tier2", "2026-11-23 10:15", RES, A, "2026-11-23 17:00", 1.25, "tier2-resolution"),
    ("to-tier2", "2026-11-23 09:45", FR, A, "2026-11-23 13:00", 0.75, "before-the-move"),
    ("late-to-tier2", "2026-11-23 12:30", FR, B, "2026-11-23 12:00", 3.5, "move-over-target"),
    ("late-to-tier2", "2026-11-23 12:30", RES, A, "2026-11-23 17:00", 3.5, "move-keeps-time"),
    ("to-nosla", "2026-11-23 11:00", FR, None, None, 0, "moved-off-sla-first"),
    ("to-nosla", "2026-11-23 11:00", RES, None, None, 0, "moved-off-sla-resolution"),
    ("to-nosla", "2026-11-23 09:30", FR, A, "2026-11-23 13:00", 0.5, "before-moving-off"),
    ("to-berlin", "2026-11-23 10:15", FR, A, "2026-11-23 11:00", 1.25, "berlin-calendar-now"),
    ("to-berlin", "2026-11-23 10:15", RES, A, "2026-11-25 09:00", 1.25, "berlin-resolution"),
    ("to-berlin", "2026-11-23 10:40", FR, W, "2026-11-23 11:00", 1 + 40 / 60, "berlin-warns"),
    ("to-berlin", "2026-11-23 11:30", FR, B, "2026-11-23 11:00", 2.5, "berlin-closes-at-six"),
    ("late-to-berlin", "2026-11-23 11:45", FR, B, "2026-11-23 11:30", 2.75, "moved-past-due"),
    ("urgent-later", "2026-11-23 09:40", FR, A, "2026-11-23 10:00", 40 / 60, "urgent-now"),
    ("urgent-later", "2026-11-23 09:50", FR, W, "2026-11-23 10:00", 50 / 60, "urgent-warns"),
    ("urgent-later", "2026-11-23 10:00", FR, B, "2026-11-23 10:00", 1, "urgent-breaches"),
    ("urgent-later", "2026-11-23 09:40", RES, A, "2026-11-23 17:00", 40 / 60, "urgent-res"),
    ("urgent-later", "2026-11-23 09:20", FR, A, "2026-11-23 13:00", 20 / 60, "normal-before"),
    ("calmed", "2026-11-23 10:00", FR, A, "2026-11-23 13:00", 1, "lowered-priority"),
    ("calmed", "2026-11-23 12:30", FR, W, "2026-11-23 13:00", 3.5, "lowered-warns"),
    ("calmed", "2026-11-23 09:40", FR, A, "2026-11-23 10:00", 40 / 60, "urgent-at-first"),
    ("calmed", "2026-11-23 10:00", RES, A, "2026-11-24 17:00", 1, "lowered-resolution"),
    ("urgent-late", "2026-11-23 11:30", FR, B, "2026-11-23 11:00", 2.5, "raised-past-due"),
    ("urgent-late", "2026-11-23 11:30", RES, A, "2026-11-23 17:00", 2.5, "raised-res"),
    ("us-spring", "2026-03-08 01:30", FR, A, "2026-03-08 04:00", 2.5, "us-spring-before-gap"),
    ("us-spring", "2026-03-08 03:30", FR, W, "2026-03-08 04:00", 3.5, "us-spring-after-gap"),
    ("us-spring", "2026-03-08 05:00", FR, B, "2026-03-08 04:00", 5, "us-spring-breach"),
    ("us-spring", "2026-03-08 05:00", RES, A, "2026-03-10 00:00", 5, "us-spring-resolution"),
    ("us-spring", "2026-03-08 12:00", RES, A, "2026-03-10 00:00", 6, "us-spring-day-closed"),
    ("us-fall", "2026-11-01 06:00Z", FR, W, "2026-11-01 07:00Z", 3, "us-fall-second-one"),
    ("us-fall", "2026-11-01 05:00Z", FR, A, "2026-11-01 07:00Z", 2, "us-fall-first-one"),
    ("us-fall", "2026-11-01 02:30", FR, B, "2026-11-01 07:00Z", 4.5, "us-fall-breach"),
    ("us-fall", "2026-11-01 12:00", RES, A, "2026-11-02 06:00", 8, "us-fall-long-night"),
    ("eu-spring", "2026-03-28 20:00", FR, A, "2026-03-29 13:00", 8, "eu-spring-day"),
    ("eu-spring", "2026-03-29 08:00", FR, W, "2026-03-29 13:00", 19, "eu-spring-warns"),
    ("eu-spring", "2026-03-29 13:00", FR, B, "2026-03-29 13:00", 24, "eu-spring-breach"),
    ("eu-spring", "2026-03-28 20:00", RES, A, "2026-03-30 13:00", 8, "eu-spring-resolution"),
    ("eu-fall", "2026-10-24 13:00", FR, A, "2026-10-25 11:00", 1, "eu-fall-day"),
    ("eu-fall", "2026-10-24 13:00", RES, A, "2026-10-26 11:00", 1, "eu-fall-resolution"),
    ("eu-fall", "2026-10-25 12:00", FR, B, "2026-10-25 11:00", 25, "eu-fall-breach"),
    ("eu-fall", "2026-10-25 06:00", FR, W, "2026-10-25 11:00", 19, "eu-fall-warns"),
    ("berlin-spring", "2026-03-27 17:30", FR, A, "2026-03-28 10:00", 0.5, "berlin-to-saturday"),
    ("berlin-spring", "2026-03-27 17:30", RES, A, "2026-03-31 13:00", 0.5, "berlin-spring-res"),
    ("berlin-spring", "2026-03-29 12:00", FR, B, "2026-03-28 10:00", 5, "berlin-dst-sunday"),
    ("berlin-fall", "2026-10-23 17:30", FR, A, "2026-10-24 10:00", 0.5, "berlin-fall-first"),
    ("berlin-fall", "2026-10-23 17:30", RES, A, "2026-10-27 13:00", 0.5, "berlin-fall-res"),
    ("berlin-fall", "2026-10-25 12:00", RES, A, "2026-10-27 13:00", 5, "berlin-fall-sunday"),
    ("thanksgiving", "2026-11-25 16:00", FR, A, "2026-11-27 11:00", 1, "before-thanksgiving"),
    ("thanksgiving", "2026-11-26 12:00", FR, A, "2026-11-27 11:00", 2, "on-thanksgiving"),
    ("thanksgiving", "2026-11-27 10:00", FR, W, "2026-11-27 11:00", 3, "after-thanksgiving"),
    ("thanksgiving", "2026-11-25 16:00", RES, A, "2026-11-30 15:00", 1, "thanksgiving-res"),
    ("christmas", "2026-12-24 16:30", FR, A, "2026-12-28 12:00", 0.5, "christmas-eve"),
    ("christmas", "2026-12-25 12:00", FR, A, "2026-12-28 12:00", 1, "christmas-day"),
    ("christmas", "2026-12-24 16:30", RES, A, "2026-12-29 16:00", 0.5, "christmas-res"),
    ("berlin-christmas", "2026-12-23 17:30", FR, A, "2026-12-28 09:00", 0.5, "berlin-xmas"),
    ("berlin-christmas", "2026-12-26 10:00", FR, A, "2026-12-28 09:00", 1, "berlin-26th"),
    ("berlin-christmas", "2026-12-23 17:30", RES, A, "2026-12-29 17:00", 0.5, "berlin-x-res"),
    ("weekend", "2026-11-20 16:00", FR, A, "2026-11-23 11:00", 1, "friday-afternoon"),
    ("weekend", "2026-11-21 12:00", FR, A, "2026-11-23 11:00", 2, "over-saturday"),
    ("weekend", "2026-11-23 10:00", FR, W, "2026-11-23 11:00", 3, "monday-warns"),
    ("weekend", "2026-11-23 11:00", FR, B, "2026-11-23 11:00", 4, "monday-breach"),
    ("weekend", "2026-11-21 12:00", RES, A, "2026-11-24 15:00", 2, "weekend-resolution"),
    ("saturday", "2026-11-21 12:00", FR, A, "2026-11-23 13:00", 0, "created-on-saturday"),
    ("saturday", "2026-11-23 09:00", FR, A, "2026-11-23 13:00", 0, "saturday-to-monday"),
    ("saturday", "2026-11-23 12:00", FR, W, "2026-11-23 13:00", 3, "saturday-warns-monday"),
    ("plain", "2026-11-23 03:17", FR, A, "2026-11-23 03:47", 0.5, "plain-wall-clock"),
    ("plain", "2026-11-23 03:32", FR, W, "2026-11-23 03:47", 0.75, "plain-warns"),
    ("plain", "2026-11-23 04:00", FR, B, "2026-11-23 03:47", 73 / 60, "plain-breach"),
    ("plain", "2026-11-23 04:00", RES, A, "2026-11-24 02:47", 73 / 60, "plain-resolution"),
    ("plain-pending", "2026-11-23 05:00", FR, P, None, 13 / 60, "plain-paused"),
    ("plain-pending", "2026-11-23 05:00", RES, P, None, 13 / 60, "plain-res-paused"),
    ("vip", "2026-11-23 09:10", FR, A, "2026-11-23 09:30", 10 / 60, "rule-sla-applies"),
    ("vip", "2026-11-23 09:25", FR, W, "2026-11-23 09:30", 25 / 60, "rule-sla-warns"),
    ("vip", "2026-11-23 09:10", RES, A, "2026-11-24 17:00", 10 / 60, "rule-keeps-queue-res"),
    ("vip-moved", "2026-11-23 09:40", FR, A, "2026-11-23 11:00", 40 / 60, "rule-left-behind"),
    ("vip-moved", "2026-11-23 10:05", FR, B, "2026-11-23 10:00", 65 / 60, "rule-again-on-return"),
    ("solved-unanswered", "2026-11-23 12:00", FR, M, "2026-11-23 13:00", 1, "solving-fulfils"),
    ("solved-unanswered", "2026-11-23 12:00", RES, M, "2026-11-24 17:00", 1, "solved-in-time"),
    ("solved-unanswered", "2026-11-23 12:00", PU, None, None, 0, "solved-no-updates"),
    ("closed-from-new", "2026-11-23 12:00", RES, M, "2026-11-24 17:00", 1, "closed-counts"),
    ("closed-from-new", "2026-11-30 12:00", FR, M, "2026-11-23 13:00", 1, "closed-long-ago"),
    ("conversation", "2026-11-23 11:15", NR, A, "2026-11-23 12:00", 1.25, "oldest-unanswered"),
    ("conversation", "2026-11-23 11:45", NR, M, "2026-11-23 12:00", 1.5, "answered-met"),
    ("conversation", "2026-11-23 12:30", NR, A, "2026-11-23 14:00", 0.5, "a-new-wait"),
    ("conversation", "2026-11-23 12:30", PU, A, "2026-11-24 11:30", 1, "update-from-last"),
    ("conversation", "2026-11-23 10:30", PU, A, "2026-11-24 09:30", 1, "update-from-first"),
    ("conversation", "2026-11-23 12:30", FR, M, "2026-11-23 13:00", 0.5, "conversation-first"),
    ("pending-resolution", "2026-11-23 12:00", RES, P, None, 1, "paused-midday"),
    ("pending-resolution", "2026-11-23 16:00", RES, A, "2026-11-25 14:00", 2, "resumed"),
    ("pending-resolution", "2026-11-23 16:00", PU, A, "2026-11-24 14:15", 1.75, "upd-resumed"),
    ("pending-resolution", "2026-11-23 12:00", PU, P, None, 0.75, "update-paused"),
    ("pending-over-the-due", "2026-11-23 16:00", FR, P, None, 3, "paused-before-due"),
    (
        "pending-over-the-due",
        "2026-11-24 09:30",
        FR,
        W,
        "2026-11-24 10:00",
        3.5,
        "no-breach-paused",
    ),
    ("pending-over-the-due", "2026-11-24 10:00", FR, B, "2026-11-24 10:00", 4, "breach-later"),
    ("general", "2026-11-23 12:00", FR, None, None, 0, "queue-without-sla"),
    ("general", "2026-11-23 12:00", RES, None, None, 0, "queue-without-sla-res"),
]


@pytest.mark.parametrize(
    ("script", "now", "metric", "state", "due", "hours"),
    [pytest.param(*case[:6], id=case[6]) for case in CASES],
)
def test_a_clock_at_an_instant(
    script: str, now: str, metric: Metric, state: ClockState | None, due: str | None, hours: float
) -> None:
    zone, text = SCRIPTS[script]
    found = clocks(record(text, zone), LOOKUP, moment(now, zone)).get(metric)
    if state is None:
        assert found is None
        return
    assert found is not None
    assert (found.state, found.due_at) == (state, None if due is None else moment(due, zone))
    assert found.business_seconds == pytest.approx(hours * 3600)


def test_the_golden_tables_hold_at_least_200_cases() -> None:
    from tests.router.test_sla_business import BETWEEN, DUE

    assert len(CASES) + len(DUE) + len(BETWEEN) >= 200
    assert len({case[6] for case in CASES}) == len(CASES)
