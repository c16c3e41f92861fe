"""The company page's sparklines: a team's weekly series as a tiny line, for an inline SVG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spark:
    path: str
    area: str
    last_x: float
    last_y: float
    width: int
    height: int


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 32) -> Spark | None:
    """A tiny line of a weekly series (no axes: the card states the latest figure beside it)."""
    if len(values) < 2:
        return None
    top = max(values) or 1.0
    step = (width - 4) / (len(values) - 1)
    xy = [
        (round(2 + i * step, 1), round(height - 3 - (height - 6) * v / top, 1))
        for i, v in enumerate(values)
    ]
    line = "M" + " L".join(f"{x},{y}" for x, y in xy)
    area = f"{line} L{xy[-1][0]},{height} L{xy[0][0]},{height} Z"
    return Spark(line, area, xy[-1][0], xy[-1][1], width, height)
