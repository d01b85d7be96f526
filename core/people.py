"""The people who work the queues: agents, their presence, and what they can take."""

from __future__ import annotations

from enum import StrEnum


class Presence(StrEnum):
    ONLINE = "online"  # offered work
    AWAY = "away"  # keeps their tickets, offered nothing (also after an unanswered offer)
    OFFLINE = "offline"  # gone: no event stream or heartbeat for presence_timeout
