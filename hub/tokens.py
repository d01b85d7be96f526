"""API tokens: random secrets, stored only as their SHA-256 digest (the CLI's `token create`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from core.model import Role, Token
from storage.base import open_store

TOKEN_PREFIX = "ch_"  # noqa: S105  # a marker that makes leaked tokens greppable


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(storage_url: str, role: Role, name: str) -> tuple[Token, str]:
    """Store a new token; the secret is returned once and never stored."""
    secret = new_secret()
    store = open_store(storage_url)
    await store.open()
    try:
        token = await store.add_token(name, role, digest(secret), datetime.now(UTC))
    finally:
        await store.close()
    return token, secret
