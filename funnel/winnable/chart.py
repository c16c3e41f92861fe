"""Geometry of the interval (forest) chart: pure arithmetic, no ORM, no markup.

Positions are percentages of the plot track, so the server-rendered SVG stretches to any width
(a phone or a 1366 px screen) without JavaScript and without distorting its text, which lives in
HTML beside the track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from funnel.metrics.intervals import Rate


@dataclass(frozen=True)
class Tick:
    x: float  # percent of the track
    label: str


@dataclass(frozen=True)
class Scale:
    low: float  # win rate at the left edge
    high: float  # win rate at the right edge
    ticks: tuple[Tick, ...]
    step_pct: float  # distance between ticks, percent of the track (the CSS grid lines)

    def x(self, rate: float) -> float:
        """Percent of the track, clamped to it."""
        position = (rate - self.low) / (self.high - self.low) * 100
        return round(min(100.0, max(0.0, position)), 2)


@dataclass(frozen=True)
class Mark:
    """One value's dot and whisker, and the ring of the rest it is compared with."""

    x: float
    x_low: float
    x_high: float
    rest_x: float | None = None


def chart_scale(rates: list[Rate], reference: Rate | None = None, points: list[Rate] = ()) -> Scale:
    """A scale that holds every interval, the reference and the points (the rests' rates),
    zoomed to whole tenths (0-100 % would squeeze 30-50 % win rates into a fifth of the width),
    with readable ticks."""
    bounds = [b for r in rates if r.rate is not None for b in (r.low, r.high)]
    bounds += [r.rate for r in [reference, *points] if r is not None and r.rate is not None]
    if not bounds:
        return _scale(0.0, 1.0)
    low = math.floor(min(bounds) * 10 + 1e-9) / 10
    high = math.ceil(max(bounds) * 10 - 1e-9) / 10
    if high - low < 0.2 - 1e-9:  # at least 20 points wide, so whiskers do not fill the track
        if low + 0.2 <= 1.0 + 1e-9:
            high = low + 0.2
        else:
            low = high - 0.2
    return _scale(round(low, 1), round(high, 1))


def _scale(low: float, high: float) -> Scale:
    span = high - low
    step = 0.05 if span <= 0.3 else 0.1 if span <= 0.6 else 0.2
    ticks = []
    value = low
    while value <= high + 1e-9:
        ticks.append(Tick(x=round((value - low) / span * 100, 2), label=f"{value * 100:.0f} %"))
        value += step
    return Scale(low=low, high=high, ticks=tuple(ticks), step_pct=round(step / span * 100, 4))


def chart_mark(rate: Rate, scale: Scale, rest: Rate | None = None) -> Mark | None:
    if rate.rate is None:
        return None
    rest_x = None if rest is None or rest.rate is None else scale.x(rest.rate)
    return Mark(
        x=scale.x(rate.rate), x_low=scale.x(rate.low), x_high=scale.x(rate.high), rest_x=rest_x
    )
