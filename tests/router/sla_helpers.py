"""Calendars, queues and a small script language for the SLA clock tests.

A script is one line per event, in the zone the test names: `2026-11-23 02:47 created`,
`... in` (a customer message), `... reply`, `... reply failed` (its delivery failed a minute
later), `... status pending`, `... queue tier2`, `... priority urgent`. A time ending in `Z`
is UTC. `created` takes an optional queue, priority and rule: `created support urgent vip`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.model import Status
from core.record import SYSTEM, Actor, Detail, EventKind, TicketEvent
from router.engine import load_ruleset
from router.sla import Lookup, lookup_in

RULES = """\
calendars:
  ny: {timezone: America/New_York, weekly: {mon-fri: "09:00-17:00"},
       holidays: [2026-11-26, 2026-12-25]}
  berlin: {timezone: Europe/Berlin, weekly: {mon-fri: "08:00-18:00", sat: "09:00-13:00"},
           holidays: [2026-12-24, 2026-12-25, 2026-12-26]}
  nights: {timezone: America/New_York, weekly: {mon-sun: "22:00-06:00"}}
  allday: {timezone: Europe/Berlin, weekly: {mon-sun: "00:00-24:00"}}
  sydney: {timezone: Australia/Sydney, weekly: {mon-fri: "09:00-17:00"}}
  split: {timezone: Asia/Tokyo, weekly: {mon-fri: ["09:00-12:00", "13:00-18:00"]}}
  london_nights: {timezone: Europe/London, weekly: {fri: "20:00-04:00"}, holidays: [2026-12-26]}
queues:
  support:
    calendar: ny
    sla:
      first_response: 4h
      next_response: 2h
      periodic_update: 8h
      resolution: 16h
      urgent: {first_response: 1h, resolution: 8h}
  tier2: {tier: 2, calendar: ny, sla: {first_response: 2h, resolution: 8h}}
  berlin_q: {calendar: berlin, sla: {first_response: 2h, next_response: 1h, resolution: 20h}}
  always_q: {calendar: allday, sla: {first_response: 24h, resolution: 2d}}
  nights_q: {calendar: nights, sla: {first_response: 4h, resolution: 16h}}
  plain: {sla: {first_response: 1h, resolution: 1d}}
  nosla: {}
default: {queue: support}
rules:
  - name: vip
    when: {customer.tags: {contains: vip}}
    then: {queue: support, sla: {first_response: 30m}}
"""

DOC = load_ruleset(RULES, "rules.yaml").doc
LOOKUP: Lookup = lookup_in(DOC)
CALENDARS = DOC.calendars
CUSTOMER = Actor.customer(7)


def moment(text: str, zone: str = "America/New_York") -> datetime:
    """`2026-11-23 02:47` on the zone's clocks (the first, when clocks fall back), or
    `2026-11-23 07:47Z` in UTC."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def record(script: str, zone: str = "America/New_York") -> list[TicketEvent]:
    """The ticket's record the script describes."""
    events: list[TicketEvent] = []
    status = Status.NEW
    for line in (raw.split() for raw in script.strip().splitlines()):
        at = moment(" ".join(line[:2]), zone)
        for kind, actor, offset, detail in _events(line[2], line[3:], status, len(events)):
            events.append(TicketEvent(len(events) + 1, 1, kind, actor, at + offset, detail))
            if kind is EventKind.STATUS:
                status = Status(str(detail["to"]))
    return events


Made = tuple[EventKind, Actor, timedelta, dict[str, Detail]]


def _events(word: str, args: list[str], status: Status, count: int) -> list[Made]:
    now = timedelta(0)
    if word == "created":
        queue, priority, rule = [*args, *("support", "normal", "")[len(args) :]][:3]
        detail: dict[str, Detail] = {"queue": queue, "priority": priority, "rule": rule or None}
        message: dict[str, Detail] = {"message_id": 1, "channel": "email"}
        return [
            (EventKind.CREATED, SYSTEM, now, detail),
            (EventKind.MESSAGE_IN, CUSTOMER, now, message),
        ]
    if word == "in":
        made: list[Made] = [(EventKind.MESSAGE_IN, CUSTOMER, now, {"message_id": count + 1})]
        if status in (Status.PENDING, Status.RESOLVED):
            reopened: dict[str, Detail] = {"from": status, "to": Status.OPEN}
            made.append((EventKind.STATUS, CUSTOMER, now, reopened))
        return made
    if word == "reply":
        message_id = 1000 + count
        made = [(EventKind.REPLY_OUT, Actor.agent("ann"), now, {"message_id": message_id})]
        delivery = args[0] if args else "sent"
        report: dict[str, Detail] = {"message_id": message_id, "status": delivery}
        made.append((EventKind.DELIVERY, SYSTEM, timedelta(minutes=1), report))
        if status is Status.NEW:
            opened: dict[str, Detail] = {"from": status, "to": Status.OPEN}
            made.append((EventKind.STATUS, Actor.agent("ann"), now, opened))
        return made
    kind = {"status": EventKind.STATUS, "queue": EventKind.QUEUE, "priority": EventKind.PRIORITY}
    kind_of = kind[word]
    before: str = status if kind_of is EventKind.STATUS else ""
    return [(kind_of, Actor.agent("sue"), now, {"from": before, "to": args[0]})]
