"""Phase timing for the measured children, free of third-party imports.

The peers' runners execute with the peers' own interpreters (their venvs lack medlake and
psutil), so what they share with the parent must be plain standard library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PhaseClock:
    """Records named phases as wall-clock epochs, which the parent matches to its RSS samples."""

    def __init__(self) -> None:
        self.phases: list[list] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.time()
        yield
        self.phases.append([name, start, time.time()])

    def write(self, path: Path, **result: object) -> None:
        """Leave the phases and the run's own figures where :func:`_measure.run_measured` reads them."""
        Path(path).write_text(json.dumps({"phases": self.phases, **result}, indent=1, default=str))
