"""Creating API tokens (the CLI's `token create`)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.model import Role, Token
from hub.api.auth import digest, new_secret
from storage.base import open_store


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
