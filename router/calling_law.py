"""Calling hours as law: the hours no campaign may call outside, on the callee's clock.

Most jurisdictions that regulate outbound calls forbid calling people at home before 08:00
or after 21:00 their local time; some are stricter. `CallingLaw` holds that floor (`hours`,
default 08:00-21:00) and stricter hours per time zone (`by_zone`: the settings name
countries, and the hub resolves each country to its zones, so this module reads no file).
A campaign's own window (router/campaigns.py) is intersected with the law for each of the
callee's zones: it can narrow the law, never widen it. Only an operator's explicit
`allow_outside_legal_hours = true` in the config makes the law `unrestricted`; an API call
cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from router.hours import DAY, Range, parse_ranges

LEGAL_HOURS = "08:00-21:00"


def day_ranges(hours: str) -> tuple[Range, ...]:
    """`08:00-21:00` (or several ranges, comma-separated) within one day; ValueError if not."""
    ranges = parse_ranges(hours)
    if not ranges:
        raise ValueError(f"calling hours {hours!r} are empty")
    if any(end > DAY for _, end in ranges):
        raise ValueError(f"calling hours {hours!r} must not run past midnight")
    return ranges


def intersect(first: Sequence[Range], second: Sequence[Range]) -> tuple[Range, ...]:
    """The moments of the day in both sets of ranges."""
    spans = ((max(a, c), min(b, d)) for a, b in first for c, d in second)
    return tuple(sorted((s, e) for s, e in spans if s < e))


@dataclass(frozen=True, slots=True)
class CallingLaw:
    """The legal floor: `hours` everywhere, stricter `by_zone` hours where the law says so.

    Frozen and hashable (compiled windows are cached per law), and small enough to travel to
    the processes that normalise a list."""

    hours: str = LEGAL_HOURS
    by_zone: tuple[tuple[str, str], ...] = ()
    unrestricted: bool = False

    @classmethod
    def of(cls, hours: str, by_zone: Mapping[str, str], *, unrestricted: bool) -> CallingLaw:
        return cls(hours, tuple(sorted(by_zone.items())), unrestricted)

    def problems(self) -> list[str]:
        """Every unusable hours value, each naming where it is (empty: the law is usable)."""
        found = []
        for where, hours in (("legal_hours", self.hours), *self.by_zone):
            try:
                day_ranges(hours)
            except ValueError as exc:
                found.append(f"{where}: {exc}")
        return found

    def ranges(self, zone: str) -> tuple[Range, ...] | None:
        """The legal hours in `zone` (None: no limit, the operator switched the law off)."""
        if self.unrestricted:
            return None
        return day_ranges(dict(self.by_zone).get(zone, self.hours))

    def narrow(self, zone: str, wanted: Sequence[Range]) -> tuple[Range, ...]:
        """A campaign's window in `zone`, cut to what the law allows there."""
        legal = self.ranges(zone)
        return tuple(wanted) if legal is None else intersect(wanted, legal)


LEGAL = CallingLaw()
"""The default: 08:00-21:00 in every zone. Nothing is callable outside it by accident."""
