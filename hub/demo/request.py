"""One signed request the demo sends to a webhook, with the label it prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoRequest:
    label: str
    path: str
    body: bytes
    headers: dict[str, str]
