"""SLA clocks: business time, the terms in force, and each metric's state from the record."""

from router.sla.business import add_business, business_time
from router.sla.clock import Clock, ClockState, clocks
from router.sla.policy import Lookup, Terms, lookup_in, terms_for

__all__ = [
    "Clock",
    "ClockState",
    "Lookup",
    "Terms",
    "add_business",
    "business_time",
    "clocks",
    "lookup_in",
    "terms_for",
]
