"""Axes and labels of a chart: round ticks, number formats, margin labels pushed apart where
they touch, and divider labels placed on a second row where they would overlap."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

TOP = 34  # px above the plot, where divider labels go
LABEL_GAP = 12.0  # px between two margin labels, or two rows of divider labels
CHAR_WIDTH = 6.2  # px of an 11 px label's character, to keep divider labels apart
GAP = 10  # px at least between two divider labels on one row


def pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def per_week(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


@dataclass(frozen=True)
class Frame:
    """One layout of a chart. Every chart is drawn in each frame, and the page shows the one
    that fits its box (a CSS container query), so text is never scaled below ~10 px and
    nothing needs a sideways scroll: a phone gets fewer ticks, not a cut chart."""

    name: str
    width: int
    height: int
    left: int
    right: int  # the right margin holds the limits' labels
    x_ticks: int
    label_chars: int  # the longest divider label above the plot
    upper: str = "Upper limit"
    mean: str = "Mean"
    frozen_mean: str = "Baseline mean"
    lower: str = "Lower limit"
    bottom: int = 40
    y_title: bool = True  # the rotated axis title; a phone's narrow margin leaves it to the caption


WIDE = Frame("wide", 720, 280, 56, 128, x_ticks=8, label_chars=34)
MEDIUM = Frame("medium", 540, 270, 52, 124, x_ticks=6, label_chars=26)
COMPACT = Frame(
    "compact", 340, 250, 44, 84, x_ticks=4, label_chars=18,
    upper="Upper", mean="Mean", frozen_mean="Mean", lower="Lower", y_title=False,
)  # fmt: skip
FRAMES = (WIDE, MEDIUM, COMPACT)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class MarginLabel:
    y: float  # nudged apart from its line's height so that labels never overlap
    name: str
    value: str
    kind: str  # "upper" | "mean" | "lower"


@dataclass(frozen=True)
class Divider:
    x: float
    label: str
    kind: str  # "do" | "definition"
    short: str  # the label above the plot; the full one is the tooltip
    text_x: float
    text_y: float
    anchor: str  # "start" | "end": right of the line, or left of it near the right edge

    @property
    def top(self) -> float:
        return self.text_y + 3


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def margin_labels(lines: list[tuple[float, str, str, str]]) -> tuple[MarginLabel, ...]:
    """Labels at their lines' heights (y, name, value, kind), pushed apart where they touch."""
    placed: list[MarginLabel] = []
    for y, name, value, kind in sorted(lines):
        at = y + 4
        if placed and at - placed[-1].y < LABEL_GAP:
            at = placed[-1].y + LABEL_GAP
        placed.append(MarginLabel(round(at, 1), name, value, kind))
    return tuple(placed)


def divider_periods(
    periods: Sequence[dt.date], dividers: Sequence[tuple[dt.date, str, str]], period_days: int
) -> dict[int, list[tuple[str, str]]]:
    """Each (date, label, kind) at the period that contains its date."""
    at: dict[int, list[tuple[str, str]]] = {}
    for when, label, kind in dividers:
        period = next(
            (i for i, p in enumerate(periods) if p <= when < p + dt.timedelta(days=period_days)),
            None,
        )
        if period is not None:
            at.setdefault(period, []).append((label, kind))
    return at


def _fit(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: max(chars - 1, 0)] + "…"


def place_dividers(
    marks: list[tuple[float, str, str]], *, left: float, right: float, width: float, chars: int
) -> tuple[Divider, ...]:
    """Divider labels above the plot, read away from the nearer edge and cut to fit the chart
    (at most ``chars`` characters); on a second row where they would overlap the first, as a
    bare "Do" where neither row has room, and left to the tooltip where even that overlaps."""
    rows: list[list[tuple[float, float]]] = [[], []]
    placed = []
    for x, label, kind in marks:
        anchor = "start" if x < (left + right) / 2 else "end"
        room = int(((width - x) if anchor == "start" else x) // CHAR_WIDTH) - 1
        tries = [_fit(label, min(chars, room)), "Do" if kind == "do" else "Def."]
        choice = None
        for short in tries:
            size = len(short) * CHAR_WIDTH
            span = (x + 3, x + 3 + size) if anchor == "start" else (x - 3 - size, x - 3)
            free = (
                r
                for r, taken in enumerate(rows)
                if all(b < span[0] - GAP or a > span[1] + GAP for a, b in taken)
            )
            row = next(free, None)
            if row is not None:
                choice = (short, span, row)
                break
        if choice is None:
            short, span, row = "", (x, x), 0
        else:
            short, span, row = choice
            rows[row].append(span)
        text_y = TOP - 6 - LABEL_GAP * row
        text_x = span[0] if anchor == "start" else span[1]
        placed.append(Divider(x, label, kind, short, text_x, text_y, anchor))
    return tuple(placed)
