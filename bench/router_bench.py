"""Router benchmark: decisions per second and latency with 10, 100 and 1,000 generated rules.

    .venv/bin/python bench/router_bench.py [--contacts 20000] [--seed 7]

Rules and contacts are generated from a fixed seed, shaped like a real contact center's:
mostly keyword rules on body or subject (some per channel), customer tags, callbacks by event,
subject regexes, number prefixes and a few `continue` rules that tag or raise priority.
Goals (issue 3): p99 <= 1 ms per decision at 1,000 rules, and cost(1000) / cost(10) <= 3.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import yaml

from core.model import CustomerFacts, Identity, Inbound
from router.engine import Ruleset, load_ruleset


def _words(text: str) -> list[str]:
    return text.split()


CHANNELS = ["email"] * 8 + ["sms"] * 5 + ["voice"] * 2 + ["slack"] * 3 + ["form"] * 2
EVENTS = ["missed_call", "voicemail", "callback_request"]
TOPICS = _words(
    "refund invoice billing payment charge receipt subscription cancel upgrade downgrade "
    "password login account locked reset email address shipping delivery tracking parcel "
    "damaged broken missing return exchange warranty repair outage down error crash slow "
    "install update version license key trial discount coupon price quote contract "
    "renewal complaint manager urgent legal privacy gdpr delete data export report api "
    "integration"
)
FILLER = _words(
    "hello hi thanks please could you help me with my the a an is was it this that order "
    "since yesterday today again still not working any news regards best from team we i "
    "have been waiting for an answer about question problem issue kind regards cheers"
)
TAGS = ["vip", "gold", "enterprise", "partner", "churn-risk", "new-market", "reseller"]


def products(count: int) -> list[str]:
    return [f"acme{n}" for n in range(count)]


def make_rules(count: int, rng: random.Random) -> str:
    """A rules file of `count` rules over 20 queues, ending with a few `continue` rules."""
    queues = {f"q{n}": {"tier": 1 + n % 3} for n in range(20)}
    queues["general"] = {}
    names = products(max(50, count))
    rules = [_rule(index, rng, names) for index in range(count)]
    doc = {
        "calendars": {
            "support": {"timezone": "America/New_York", "weekly": {"mon-fri": "08:00-18:00"}}
        },
        "queues": queues,
        "rules": rules,
        "default": {"queue": "general"},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _rule(index: int, rng: random.Random, names: list[str]) -> dict[str, object]:
    roll = rng.random()
    then: dict[str, object] = {"queue": f"q{rng.randrange(20)}"}
    if roll < 0.95:
        when = _condition(roll, rng, names)
        if 0.55 <= roll < 0.65:  # the customer-tag rules escalate
            then["priority"] = "high"
    else:
        when = {"body": {"contains": [rng.choice(TOPICS)]}, "outside": "support"}
        then = {"tags": ["after-hours"], "priority": "high", "continue": True}
    return {"name": f"rule {index}", "when": when, "then": then}


Shape = Callable[[random.Random, list[str]], dict[str, object]]


def _keywords(rng: random.Random, names: list[str]) -> dict[str, object]:
    words = [*rng.sample(TOPICS, rng.randint(1, 3)), rng.choice(names)]
    when: dict[str, object] = {rng.choice(["body", "subject"]): {"contains": words}}
    return {"channel": rng.choice(CHANNELS), **when} if rng.random() < 0.3 else when


def _phrases(rng: random.Random, names: list[str]) -> dict[str, object]:
    phrase = f"{rng.choice(names)} {rng.choice(TOPICS)}"
    return {"body": {"contains": [phrase, f"{rng.choice(TOPICS)} {rng.choice(TOPICS)}"]}}


def _either(rng: random.Random, names: list[str]) -> dict[str, object]:
    body = {"body": {"contains": [rng.choice(names), rng.choice(TOPICS)]}}
    return {"any": [body, {"subject": {"contains": [rng.choice(names)]}}]}


# (cumulative share of rules, shape): 45% keywords, 10% phrases, 10% customer tags, ...
SHAPES: list[tuple[float, Shape]] = [
    (0.45, _keywords),
    (0.55, _phrases),
    (0.65, lambda rng, _: {"customer.tags": {"contains": rng.sample(TAGS, 2)}, "channel": "email"}),
    (
        0.72,
        lambda rng, _: {
            "event": {"in": rng.sample(EVENTS, 2)},
            "customer.open_tickets": {"gte": 1},
        },
    ),
    (
        0.82,
        lambda rng, names: {
            "subject": {"matches": rf"(?i)\b{rng.choice(names)}\b.*\b(error|fail\w*)\b"}
        },
    ),
    (0.90, _either),
    (0.95, lambda rng, _: {"channel": "sms", "from": {"starts_with": f"+{rng.randint(30, 99)}"}}),
]


def _condition(roll: float, rng: random.Random, names: list[str]) -> dict[str, object]:
    return next(shape for limit, shape in SHAPES if roll < limit)(rng, names)


def make_contacts(count: int, rng: random.Random) -> list[tuple[Inbound, CustomerFacts]]:
    names = products(1000)
    start = datetime(2026, 11, 23, tzinfo=UTC)
    return [_contact(n, rng, names, start) for n in range(count)]


def _contact(
    n: int, rng: random.Random, names: list[str], start: datetime
) -> tuple[Inbound, CustomerFacts]:
    channel = rng.choice(CHANNELS)
    words = [rng.choice(FILLER) for _ in range(rng.randint(5, 60))]
    for _ in range(rng.randint(0, 3)):
        words.insert(rng.randrange(len(words)), rng.choice(TOPICS + names))
    text = " ".join(words).capitalize() + "."
    subject = (
        " ".join(rng.choice(FILLER + TOPICS + names) for _ in range(5))
        if channel == "email"
        else ""
    )
    event = rng.choice(EVENTS) if channel == "voice" else "message"
    sender = f"+{rng.randint(1, 99)}555{rng.randint(10**6, 10**7 - 1)}"
    inbound = Inbound(
        channel=channel,
        external_id=f"ext-{n}",
        sender=Identity("phone", sender),
        text=text if event == "message" else "",
        received_at=start + timedelta(minutes=rng.randrange(7 * 24 * 60)),
        event=event,
        recipient="support@example.com",
        subject=subject,
    )
    tags = tuple(rng.sample(TAGS, rng.randint(0, 2))) if rng.random() < 0.2 else ()
    facts = CustomerFacts(rng.choice([None, n]), tags, rng.randint(0, 3))
    return inbound, facts


@dataclass(frozen=True, slots=True)
class Result:
    rules: int
    per_second: float
    mean_us: float
    p50_us: float
    p99_us: float


def measure(ruleset: Ruleset, contacts: list[tuple[Inbound, CustomerFacts]], rules: int) -> Result:
    decide = ruleset.decide
    for inbound, facts in contacts[:500]:  # warm caches and buckets
        decide(inbound, facts)
    samples: list[int] = []
    clock = time.perf_counter_ns
    for inbound, facts in contacts:
        begin = clock()
        decide(inbound, facts)
        samples.append(clock() - begin)
    samples.sort()
    total = sum(samples)
    return Result(
        rules,
        len(samples) / (total / 1e9),
        statistics.fmean(samples) / 1000,
        samples[len(samples) // 2] / 1000,
        samples[int(len(samples) * 0.99)] / 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    contacts = make_contacts(args.contacts, random.Random(args.seed))
    results = []
    for count in (10, 100, 1000):
        began = time.perf_counter()
        ruleset = load_ruleset(make_rules(count, random.Random(args.seed + count)), "bench.yaml")
        compile_ms = (time.perf_counter() - began) * 1000
        result = measure(ruleset, contacts, count)
        results.append(result)
        print(
            f"{count:>5} rules: {result.per_second:>9,.0f} decisions/s  "
            f"mean {result.mean_us:7.1f} us  p50 {result.p50_us:7.1f} us  "
            f"p99 {result.p99_us:7.1f} us  (load+compile {compile_ms:,.0f} ms)"
        )
    ratio = results[-1].mean_us / results[0].mean_us
    p99 = results[-1].p99_us
    print(
        f"cost(1000)/cost(10) = {ratio:.2f} (goal <= 3)   p99 at 1000 rules = {p99:.0f} us "
        f"(goal <= 1000 us)"
    )


if __name__ == "__main__":
    main()
