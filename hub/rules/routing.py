"""The rules in force: one holder the store calls, and the keeper that reloads it.

`RulesRouter` is the `core.model.Router` the store calls inside its commit: it decides with the
ruleset in force at the moment of the call (a reload swaps one attribute, atomically), stamps
the rules version on the decision and caps the explanation it keeps on the ticket.

`RulesKeeper` does the I/O: at start it reconciles the configured rules file with the newest
version in the store (a changed file becomes a new version; otherwise the stored version,
perhaps written through the API, stays in force); `replace` validates off the event loop,
stores and swaps; `watch` polls the file and the store, so an edited file, a SIGHUP or
another hub's `PUT /api/rules` takes effect everywhere. An invalid file never replaces the
running rules: the error is logged and answered, and the old version stays in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from core.deadlines import SlaMarks
from core.errors import ConfigError, Conflict, RuleError, RulesChanged, StorageError
from core.model import CustomerFacts, Decision, Identity, Inbound, RulesVersion
from core.record import TicketEvent
from router import QueueSpec, Ruleset, default_ruleset, load_ruleset
from router.sla import lookup_in
from router.sla.marks import at_creation
from router.spec import DEFAULT_LIMITS, STORED_LIMITS, Limits
from router.workflow import dropped_with_work
from storage.base import Store

log = structlog.get_logger("contacthub.routing")

DEFAULT_MAX_EXPLANATION_LINES = 50
FILE_AUTHOR = "file:"  # versions read from the rules file carry this author prefix
HISTORY_SCAN = 200
SAVE_ATTEMPTS = 5
"""Saves tried over the newest version when others keep landing first (each sees them)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rules:
    """A compiled ruleset and the stored version it came from (None: never stored)."""

    ruleset: Ruleset
    version: int | None = None
    constant: Decision | None = dataclasses.field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        # Rules without a single rule decide the same for every contact: decide once (unless
        # the decision carries SLA due times, which count from each contact's own time).
        if not self.ruleset.doc.rules:
            probe = Inbound("", "", Identity("", ""), "", datetime.now(UTC))
            decision = self.ruleset.decide(probe, CustomerFacts(None))
            if decision.first_response_due or decision.resolution_due:
                return
            stamped = dataclasses.replace(decision, rules_version=self.version)
            object.__setattr__(self, "constant", stamped)


class RulesRouter:
    """The router the store calls; always the rules in force at the call."""

    def __init__(self, rules: Rules, max_explanation_lines: int = DEFAULT_MAX_EXPLANATION_LINES):
        self.rules = rules
        self.max_explanation_lines = max(2, max_explanation_lines)

    @property
    def needs_history(self) -> bool:
        return self.rules.ruleset.needs_history

    @property
    def queues(self) -> Mapping[str, QueueSpec]:
        return self.rules.ruleset.queues

    def decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        rules = self.rules  # one read: a reload in between cannot mix two versions
        if rules.constant is not None:
            return rules.constant
        decision = rules.ruleset.decide(inbound, facts)
        # A clocked ticket's deadlines are made in the commit that makes it (the router is
        # pure: what the new ticket's record will be is known from the decision).
        clocked = decision.first_response_due or decision.resolution_due
        lookup = lookup_in(rules.ruleset.doc)
        return dataclasses.replace(
            decision,
            rules_version=rules.version,
            explanation=cap_explanation(decision.explanation, self.max_explanation_lines),
            sla=at_creation(inbound, decision, lookup) if clocked else None,
        )

    def sla_after(self, events: Sequence[TicketEvent], now: datetime) -> SlaMarks | None:
        return self.rules.ruleset.sla_after(events, now)


def cap_explanation(lines: tuple[str, ...], limit: int) -> tuple[str, ...]:
    """Keep the first lines and the deciding last line; count what is left out.

    With a thousand rules a full explanation is tens of kilobytes per ticket; the rules
    that did not match early are the useful part, and `rules test` shows the whole.
    """
    if len(lines) <= limit:
        return lines
    skipped = len(lines) - limit + 1
    return (*lines[: limit - 2], f"... {skipped} more rules did not match", lines[-1])


class RulesKeeper:
    """Loads, stores, swaps and watches the rules of one hub."""

    def __init__(self, router: RulesRouter, store: Store, path: Path | None) -> None:
        self.router = router
        self.store = store
        self.path = path
        self._file_stamp: tuple[float, int] | None = None

    async def start(self) -> None:
        """Put the right rules in force: a changed file wins, else the newest stored version.

        The file has changed when it differs from the last version that came from it, so
        rules saved through the API stay in force across restarts until the file is edited.
        Hubs starting together store a changed file once: the save is over the newest
        version, and the one that lands second finds the file's text stored and adopts it.
        """
        for _ in range(SAVE_ATTEMPTS):
            history = await self.store.rules_history(HISTORY_SCAN)
            newest = history[0] if history else None
            if newest is not None:  # in force until the file replaces it: what it may drop
                with contextlib.suppress(RuleError):
                    self.router.rules = Rules(await _compile_stored(newest), newest.version)
            if self.path is not None:
                text = self._read_file(self.path)
                from_file = next((v for v in history if v.author.startswith(FILE_AUTHOR)), None)
                if from_file is None or from_file.source != text:
                    try:
                        await self.replace(text, self._file_author(None, newest), _version(newest))
                    except RulesChanged:
                        continue
                    except Conflict as exc:  # it drops a queue with live work: serve the stored
                        log.error("rules_file_refused", path=str(self.path), error=exc.message)
                    else:
                        return
            if newest is not None and self.router.rules.version != newest.version:
                ruleset = await _compile_stored(newest)  # raises what the first try suppressed
                self.router.rules = Rules(ruleset, newest.version)
            return
        raise ConfigError("the stored rules kept changing while this hub started")

    async def replace(self, source: str, author: str, expected: int | None = None) -> RulesVersion:
        """Validate, store and swap in new rules; RuleError leaves the running ones. With
        `expected`, stored only over that version (RulesChanged: another is newest now)."""
        ruleset = await _compile(source, str(self.path or "rules.yaml"))
        return await self._store(ruleset, author, expected)

    async def _store(self, ruleset: Ruleset, author: str, expected: int | None) -> RulesVersion:
        """Save compiled rules and put them in force (RulesChanged: nothing saved; Conflict
        when they drop a queue that still holds live tickets)."""
        live = {stats.name: stats.open for stats in await self.store.queue_stats()}
        stranded = dropped_with_work(self.router.rules.ruleset.queues, ruleset.queues, live)
        if stranded:
            raise Conflict("; ".join(stranded))
        now = datetime.now(UTC)
        version = await self.store.save_rules(ruleset.source, author, now, expected)
        self.router.rules = Rules(ruleset, version.version)
        log.info("rules_replaced", version=version.version, author=author)
        return version

    async def publish(
        self, source: str, author: str, base: int | None = None, name: str = "draft"
    ) -> tuple[RulesVersion, RulesVersion | None]:
        """Store `source` over `base` (RulesChanged when another version is newest), or,
        without one, over whatever is newest when it is stored: the new version and the one
        it replaced, so the caller can say what it replaced (never a silent overwrite).
        `name`: what its problems are said to be in (not the rules file: it is not that)."""
        ruleset = await _compile(source, name)
        for _ in range(SAVE_ATTEMPTS):
            current = await self.store.current_rules()
            try:
                version = await self._store(
                    ruleset, author, _version(current) if base is None else base
                )
            except RulesChanged:
                if base is not None:
                    raise
                continue  # saved meanwhile: name that one instead
            return version, current
        raise Conflict("the rules kept changing while this version was stored; try again")

    async def reload_file(self, reason: str) -> None:
        """Re-read the rules file (on SIGHUP or a change); errors are logged, not raised."""
        if self.path is None:
            return
        try:
            text = self._read_file(self.path)
            if text != self.router.rules.ruleset.source:
                await self._save_file(text, reason)
        except (RuleError, ConfigError) as exc:
            log.error("rules_reload_refused", reason=reason, error=str(exc))
        except StorageError as exc:
            log.error("rules_reload_failed", reason=reason, error=exc.message)

    async def _save_file(self, text: str, reason: str) -> None:
        """Store the file's new version over the newest one, atomically: when it replaces a
        version published through the API, its author says which (and it is logged); a
        publish that lands in between is seen, and named, on the next attempt."""
        ruleset = await _compile(text, str(self.path))
        for _ in range(SAVE_ATTEMPTS):
            current = await self.store.current_rules()
            try:
                await self._store(ruleset, self._file_author(reason, current), _version(current))
            except RulesChanged:
                continue
            if current is not None and not current.author.startswith(FILE_AUTHOR):
                log.warning(
                    "rules_file_replaces_published", version=current.version, by=current.author
                )
            return
        log.error("rules_reload_failed", reason=reason, error="the stored rules kept changing")

    def _file_author(self, reason: str | None, current: RulesVersion | None) -> str:
        """`file:PATH (REASON; replaces vN by WHO)`, each part only when there is one."""
        why = [reason] if reason else []
        if current is not None and not current.author.startswith(FILE_AUTHOR):
            why.append(f"replaces v{current.version} by {current.author}")
        return f"{FILE_AUTHOR}{self.path}" + (f" ({'; '.join(why)})" if why else "")

    async def follow_store(self) -> None:
        """Adopt a newer version another hub stored (through its API)."""
        stored = await self.store.current_rules()
        current = self.router.rules.version
        if stored is None or (current is not None and stored.version <= current):
            return
        try:
            ruleset = await _compile_stored(stored)
        except RuleError as exc:
            log.error("stored_rules_refused", version=stored.version, error=str(exc))
            return
        self.router.rules = Rules(ruleset, stored.version)
        log.info("rules_followed", version=stored.version)

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self._file_changed():
                await self.reload_file("file changed")
            with contextlib.suppress(StorageError):
                await self.follow_store()

    def _read_file(self, path: Path) -> str:
        try:
            stat = path.stat()
            self._file_stamp = (stat.st_mtime, stat.st_size)
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read rules file {path}: {exc.strerror}") from exc

    def _file_changed(self) -> bool:
        if self.path is None:
            return False
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return (stat.st_mtime, stat.st_size) != self._file_stamp


def _version(stored: RulesVersion | None) -> int:
    return 0 if stored is None else stored.version


async def _compile(source: str, filename: str, limits: Limits = DEFAULT_LIMITS) -> Ruleset:
    # Compiling a thousand rules takes half a second: never on the event loop.
    return await asyncio.to_thread(load_ruleset, source, filename, limits)


async def _compile_stored(version: RulesVersion) -> Ruleset:
    """A version in the store, as it was stored: never refused for a check added since."""
    return await _compile(version.source, f"rules version {version.version}", STORED_LIMITS)


def initial_rules(path: Path | None) -> Rules:
    """The rules a hub starts with, checked before it serves anything."""
    if path is None:
        return Rules(default_ruleset())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc.strerror}") from exc
    return Rules(load_ruleset(text, str(path)))


@contextlib.asynccontextmanager
async def watching(keeper: RulesKeeper, interval: float) -> AsyncIterator[None]:
    await keeper.start()
    task = asyncio.create_task(keeper.watch(interval)) if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
