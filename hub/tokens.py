"""API tokens: random secrets, stored only as their SHA-256 digest (hub/cli/people.py)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "ch_"  # noqa: S105  # a marker that makes leaked tokens greppable


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
