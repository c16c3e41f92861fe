"""Geometry of a cycle's weekly chart (an XmR chart with the Do window marked), for an inline
SVG template. Pure: plain values in, coordinates and labels out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 112, 30, 44


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    week: date
    label: str  # for the tooltip and screen readers
    in_do: bool
    signal: str  # "" | "up" | "down"


@dataclass(frozen=True)
class HLine:
    y: float
    x1: float
    x2: float
    label: str
    value: str
    label_y: float = 0.0  # in the right margin, nudged apart so labels never overlap
    in_margin: bool = True


@dataclass(frozen=True)
class Divider:
    x: float
    label: str
    kind: str  # "do" | "definition"


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: float = LEFT
    plot_right: float = WIDTH - RIGHT
    plot_top: float = TOP
    plot_bottom: float = HEIGHT - BOTTOM
    title: str = ""
    description: str = ""
    y_label: str = ""
    points: list[ChartPoint] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # polyline segments (breaks at empty weeks)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    band: tuple[float, float] | None = None  # y of upper and lower process limit
    lines: list[HLine] = field(default_factory=list)
    do_region: tuple[float, float] | None = None  # x from, x to
    dividers: list[Divider] = field(default_factory=list)
    has_signals: bool = False
    empty: bool = False
    do_mean: str = ""

    @property
    def plot_width(self) -> float:
        return round(self.plot_right - self.plot_left, 1)

    @property
    def plot_height(self) -> float:
        return round(self.plot_bottom - self.plot_top, 1)

    @property
    def do_width(self) -> float:
        return round(self.do_region[1] - self.do_region[0], 1) if self.do_region else 0

    @property
    def band_height(self) -> float:
        return round(self.band[1] - self.band[0], 1) if self.band else 0


def _nice_step(span: float, target_ticks: int = 5) -> float:
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _spread_labels(lines: list[HLine], gap: float = 12.0) -> None:
    """Place the margin labels at their lines' heights, pushed apart where they would touch."""
    placed: list[float] = []
    for index, line in sorted(
        ((i, ln) for i, ln in enumerate(lines) if ln.in_margin), key=lambda p: p[1].y
    ):
        y = line.y + 4
        if placed and y - placed[-1] < gap:
            y = placed[-1] + gap
        placed.append(y)
        lines[index] = replace(line, label_y=y)


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.0f} %" if percent else f"{value:.1f}".rstrip("0").rstrip(".")


def weekly_chart(
    *,
    weeks: Sequence[date],
    values: Sequence[float | None],
    volumes: Sequence[int],
    percent: bool,
    metric_label: str,
    limits: dict | None = None,
    do_start_index: int | None = None,
    do_value: float | None = None,
    signals: dict[int, int] | None = None,
    dividers: Sequence[tuple[date, str]] = (),
    volume_label: str = "decided",
) -> Chart:
    """Weekly values as a line with the baseline's mean and natural process limits, the Do
    window shaded from its first week, signals marked (+1 up, -1 down, by week index) and
    definition changes as dividers."""
    chart = Chart(y_label=metric_label)
    signals = signals or {}
    n = len(weeks)
    present = [v for v in values if v is not None]
    if not n or not present:
        chart.empty = True
        chart.title = f"{metric_label}: no data yet"
        return chart
    candidates = list(present)
    if limits:
        candidates += [limits["upper"], max(limits["lower"], 0.0), limits["mean"]]
    if do_value is not None:
        candidates.append(do_value)
    high = max(candidates)
    low = min(0.0, min(candidates))
    if percent:
        high = min(1.0, high)
    step = _nice_step(max(high - low, 1e-9))
    y_max = math.ceil(high / step) * step if high > 0 else step
    y_min = math.floor(low / step) * step
    top, bottom = chart.plot_top, chart.plot_bottom
    left, right = chart.plot_left, chart.plot_right
    slot = (right - left) / n

    def y_of(v: float) -> float:
        v = min(max(v, y_min), y_max)
        return round(bottom - (v - y_min) / (y_max - y_min) * (bottom - top), 1)

    def x_of(i: float) -> float:
        return round(left + (i + 0.5) * slot, 1)

    ticks = round((y_max - y_min) / step)
    chart.y_ticks = [
        (y_of(y_min + k * step), _fmt(y_min + k * step, percent)) for k in range(ticks + 1)
    ]
    every = max(1, math.ceil(n / 9))
    chart.x_ticks = [(x_of(i), f"{weeks[i]:%-d %b}") for i in range(0, n, every)]

    segment: list[str] = []
    for i, (week, value) in enumerate(zip(weeks, values, strict=True)):
        if value is None:
            if len(segment) > 1:
                chart.paths.append(" ".join(segment))
            segment = []
            continue
        x, y = x_of(i), y_of(value)
        segment.append(f"{x},{y}")
        direction = signals.get(i, 0)
        shown = _fmt(value, percent)
        label = f"Week of {week:%-d %b %Y}: {shown}"
        if percent:
            label += f" ({volumes[i]} {volume_label})"
        if direction:
            label += f" — signal {'up' if direction > 0 else 'down'}"
        chart.points.append(
            ChartPoint(
                x=x,
                y=y,
                week=week,
                label=label,
                in_do=do_start_index is not None and i >= do_start_index,
                signal={1: "up", -1: "down"}.get(direction, ""),
            )
        )
    if len(segment) > 1:
        chart.paths.append(" ".join(segment))
    chart.has_signals = any(p.signal for p in chart.points)

    if limits:
        # A rate's limits can pass 0 or 100 %: beyond them nothing can happen, so show the cap.
        upper = min(limits["upper"], 1.0) if percent else limits["upper"]
        lower = max(limits["lower"], y_min)
        chart.band = (y_of(upper), y_of(lower))
        chart.lines.append(
            HLine(y_of(limits["mean"]), left, right, "Mean", _fmt(limits["mean"], percent))
        )
        chart.lines.append(HLine(y_of(upper), left, right, "Upper limit", _fmt(upper, percent)))
        if limits["lower"] > y_min and lower > 0:
            chart.lines.append(
                HLine(y_of(limits["lower"]), left, right, "Lower limit", _fmt(lower, percent))
            )
    if do_start_index is not None and do_start_index < n:
        x_do = round(left + do_start_index * slot, 1)
        chart.do_region = (x_do, right)
        chart.dividers.append(Divider(x_do, f"Do starts {weeks[do_start_index]:%-d %b}", "do"))
        if do_value is not None:
            # Its value goes in the legend: a label here would sit on the Do points.
            chart.do_mean = _fmt(do_value, percent)
            chart.lines.append(
                HLine(y_of(do_value), x_do, right, "Do mean", chart.do_mean, in_margin=False)
            )
    for day, label in dividers:
        index = next((i for i, w in enumerate(weeks) if w >= day), None)
        if index is not None and index > 0:
            chart.dividers.append(Divider(round(left + index * slot, 1), label, "definition"))

    _spread_labels(chart.lines)
    chart.title = f"{metric_label}, weekly, {weeks[0]:%-d %b %Y} to {weeks[-1]:%-d %b %Y}"
    parts = [f"{len(present)} weeks with data."]
    if limits:
        parts.append(
            f"Baseline mean {_fmt(limits['mean'], percent)}, natural process limits "
            f"{_fmt(max(limits['lower'], 0), percent)} to "
            f"{_fmt(min(limits['upper'], 1) if percent else limits['upper'], percent)}."
        )
    if chart.do_region:
        parts.append(f"The Do window starts in the week of {weeks[do_start_index]:%-d %b}.")
    n_signals = sum(1 for p in chart.points if p.signal)
    parts.append(f"{n_signals} signal week{'s' if n_signals != 1 else ''} in the Do window.")
    chart.description = " ".join(parts)
    return chart
