"""The fault suite's figures: each fault test leaves a JSON of what it measured, and
`scripts/reliability` renders them into docs/reliability.md.

The folder is $CONTACTHUB_RELIABILITY, or `reliability/` in the run's pytest temp dir (the
script reads /tmp/pytest-of-$USER/pytest-current/reliability by default). Nothing is
written into the repository by a test.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True, slots=True)
class Figures:
    folder: Path

    def record(self, scenario: str, title: str, **figures: Any) -> None:
        """Write one scenario's figures (`scenario` names the file; a rerun replaces it)."""
        # Durations and refusal counts depend on the machine: say what it was doing.
        machine = {"cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1)}
        document = {"scenario": scenario, "title": title, "machine": machine, **figures}
        path = self.folder / f"{scenario}.json"
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.fixture
def figures(tmp_path_factory: pytest.TempPathFactory) -> Figures:
    given = os.environ.get("CONTACTHUB_RELIABILITY")
    folder = Path(given) if given else tmp_path_factory.getbasetemp() / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    return Figures(folder)
