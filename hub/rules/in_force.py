"""The rules the hubs of a store route by, for commands that run beside them (simulate, a
campaign's list load): read from the store as a hub reads them at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.errors import ConfigError
from router import Ruleset, default_ruleset, load_ruleset
from router.spec import STORED_LIMITS
from storage.base import Store


async def rules_in_force(store: Store, configured: Path | None) -> Ruleset:
    """The newest stored version (a hub stores its file's at start), else the configured
    file (RuleError when it is wrong), else the embedded default."""
    newest = await store.current_rules()
    if newest is not None:
        name = f"rules version {newest.version}"
        return await asyncio.to_thread(load_ruleset, newest.source, name, STORED_LIMITS)
    if configured is None:
        return default_ruleset()
    try:
        text = await asyncio.to_thread(configured.read_text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {configured}: {exc.strerror}") from exc
    return await asyncio.to_thread(load_ruleset, text, str(configured))
