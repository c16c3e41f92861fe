"""Server-rendered SVG charts as plain data: coordinates, paths and labels for the templates.

Pure functions over plain values (no ORM, no I/O). The templates draw what these return, so
a chart's arithmetic (the XmR limits, which points are signals, where a divider falls) is
tested here, not in HTML.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from funnel.metrics.xmr import XmrRule, xmr_chart

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 46, 14, 26, 30
RULE_WORDS = {
    XmrRule.OUTSIDE_LIMITS: "outside the limits",
    XmrRule.THREE_OF_FOUR: "3 of 4 beyond the half-way line",
    XmrRule.EIGHT_ON_ONE_SIDE: "8 in a row on one side",
}


def pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def per_week(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the period, e.g. "16 Nov"
    value: str
    signal: bool
    direction: int
    why: str


@dataclass(frozen=True)
class Band:
    """One segment's limits as horizontal lines from x1 to x2 (None: too few points)."""

    x1: float
    x2: float
    mean: float | None
    upper: float | None
    lower: float | None
    mean_label: str = ""
    upper_label: str = ""
    lower_label: str = ""


@dataclass(frozen=True)
class Divider:
    x: float
    label: str


@dataclass(frozen=True)
class XmrSvg:
    key: str
    title: str
    unit: str
    desc: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    path: str
    points: tuple[Point, ...]
    bands: tuple[Band, ...]
    dividers: tuple[Divider, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    signals: int
    latest: str
    empty: bool = False


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


def xmr_svg(
    *,
    key: str,
    title: str,
    unit: str,
    periods: Sequence[dt.date],
    values: Sequence[float | None],
    breaks: Sequence[tuple[dt.date, str]] = (),
    fmt: Callable[[float], str] = per_week,
    floor_zero: bool = True,
    period_days: int = 7,
) -> XmrSvg:
    """An XmR chart of a weekly (or k-weekly) series. Periods without a value (too few decided
    deals to judge) are left out of the chart's arithmetic and drawn as a gap.

    ``breaks``: (date, label) where a PDCA cycle's Do started or a definition changed; the
    chart gets new limits from the first period on or after each date.
    """
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(periods)

    def x_of(i: float) -> float:
        return round(LEFT + (plot_w * (i + 0.5) / n if n else 0), 1)

    base = dict(key=key, title=title, unit=unit, width=WIDTH, height=HEIGHT)
    frame = dict(
        plot_left=LEFT, plot_right=WIDTH - RIGHT, plot_top=TOP, plot_bottom=HEIGHT - BOTTOM
    )
    if len(known) < 2:
        return XmrSvg(
            **base,
            **frame,
            desc=f"{title}: not enough weeks with data to chart yet.",
            path="",
            points=(),
            bands=(),
            dividers=(),
            y_ticks=(),
            x_ticks=(),
            signals=0,
            latest="—",
            empty=True,
        )

    # A break starts a new segment at the period that contains its date.
    labels_at: dict[int, list[str]] = {}
    for when, label in breaks:
        period = next(
            (i for i, p in enumerate(periods) if p <= when < p + dt.timedelta(days=period_days)),
            None,
        )
        if period is not None:
            labels_at.setdefault(period, []).append(label)
    first_known = {
        period: next((k for k, (i, _) in enumerate(known) if i >= period), None)
        for period in labels_at
    }
    cuts = sorted({k for k in first_known.values() if k})
    chart = xmr_chart([v for _, v in known], breaks=cuts)

    limits = [s.limits for s in chart.segments if s.limits]
    span = [v for _, v in known]
    span += [v for lim in limits for v in (lim.upper, lim.lower)]
    low, high = min(span), max(span)
    if floor_zero:
        low = max(0.0, low) if min(v for _, v in known) >= 0 else low
        low = min(low, 0.0) if low < (high - low) * 0.6 else low
    if fmt is pct:  # a rate lives in 0–100 %, whatever the limits' arithmetic says
        low, high = max(low, 0.0), min(high, 1.0)
    ticks = nice_ticks(low, high)
    tick_fmt = fmt if fmt is not per_week else (lambda t: f"{t:g}")
    y_min, y_max = ticks[0], ticks[-1]

    def y_of(v: float) -> float:
        return round(TOP + plot_h * (1 - (v - y_min) / (y_max - y_min)), 1)

    points = []
    for p in chart.points:
        i = known[p.index][0]
        why = ", ".join(RULE_WORDS[r] for r in p.rules)
        points.append(
            Point(
                x_of(i),
                y_of(p.value),
                f"{periods[i]:%-d %b %Y}",
                fmt(p.value),
                p.signal,
                p.direction,
                why,
            )
        )
    path, previous = [], None
    for (i, _), point in zip(known, points, strict=True):
        path.append(
            ("L" if previous is not None and i == previous + 1 else "M") + f"{point.x},{point.y}"
        )
        previous = i
    bands = []
    for seg in chart.segments:
        x1 = x_of(known[seg.start][0] - 0.5)
        x2 = x_of(known[seg.end - 1][0] + 0.5)
        lim = seg.limits
        if lim is None:
            bands.append(Band(x1, x2, None, None, None))
            continue
        lower = lim.lower if lim.lower > y_min else None
        bands.append(
            Band(
                x1,
                x2,
                y_of(lim.mean),
                y_of(min(lim.upper, y_max)),
                y_of(lower) if lower is not None else None,
                fmt(lim.mean),
                fmt(lim.upper),
                fmt(lim.lower) if lower is not None else "",
            )
        )
    dividers = tuple(
        Divider(x_of(i - 0.5), "; ".join(labels)) for i, labels in sorted(labels_at.items())
    )
    step = max(1, math.ceil(n / 6))
    x_ticks = tuple(Tick(x_of(i), f"{periods[i]:%-d %b}") for i in range(n - 1, -1, -step))[::-1]
    signals = [p for p in points if p.signal]
    last = limits[-1] if limits else None
    desc = (
        f"{title}, {len(known)} periods from {periods[known[0][0]]:%-d %b %Y} to "
        f"{periods[known[-1][0]]:%-d %b %Y}; latest {points[-1].value} {unit}."
        + (
            f" Mean {fmt(last.mean)}, natural limits "
            f"{fmt(max(last.lower, 0) if floor_zero else last.lower)} to {fmt(last.upper)}."
            if last
            else " Too few points for limits."
        )
        + (
            f" {len(signals)} signal{'s' if len(signals) != 1 else ''}: "
            + "; ".join(f"{p.label} {p.value} ({p.why})" for p in signals[-3:])
            + "."
            if signals
            else " No signals: routine variation only."
        )
        + (f" Divided at: {'; '.join(d.label for d in dividers)}." if dividers else "")
    )
    return XmrSvg(
        **base,
        **frame,
        desc=desc,
        path=" ".join(path),
        points=tuple(points),
        bands=tuple(bands),
        dividers=dividers,
        y_ticks=tuple(Tick(y_of(t), tick_fmt(t)) for t in ticks),
        x_ticks=x_ticks,
        signals=len(signals),
        latest=points[-1].value,
    )


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
