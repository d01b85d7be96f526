"""Every socket a web chat test opened is closed before its hub stops."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.channels.webchat.support import OPEN


@pytest.fixture(autouse=True)
async def _close_sockets() -> AsyncIterator[None]:
    yield
    while OPEN:
        await OPEN.pop().close()
