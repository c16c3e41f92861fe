"""Where an import run's time went, part by part."""

from __future__ import annotations

import time


class Laps:
    """Seconds by part of a run: each lap charges the time since the previous one to a part,
    so the parts add up to the whole."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}
        self.notes: dict[str, float] = {}  # inside a part, reported apart (not summed)

    def lap(self, part: str) -> None:
        now = time.perf_counter()
        self.seconds[part] = self.seconds.get(part, 0.0) + now - self.last
        self.last = now

    def summary(self) -> dict[str, float]:
        out = {name: round(value, 3) for name, value in self.seconds.items()}
        out["total"] = round(self.last - self.started, 3)
        if self.notes:
            out["inside"] = {name: round(value, 3) for name, value in self.notes.items()}
        return out
