"""Every XmR (process behaviour) chart in the app as plain data for the SVG template:
coordinates, paths and labels.

One geometry and one template (templates/charts/_xmr.html) for two uses:

- the dashboards: limits per segment, computed from the series itself, with a new segment at
  each PDCA Do start or definition change;
- a PDCA cycle's page: the baseline's limits, frozen when the plan was committed, across the
  whole chart; the Do window shaded and its weeks judged against those limits exactly as the
  Check judges them (the same ``xmr_points`` over the same values).

Pure functions over plain values (no ORM, no I/O); the limits and the detection rules come from
funnel.metrics.xmr, so a chart's arithmetic is tested here, not in HTML.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from funnel.metrics.xmr import XmrLimits, XmrPoint, XmrRule, xmr_chart, xmr_points
from kaizen.charts.describe import chart_description
from kaizen.charts.layout import (
    FRAMES,
    TOP,
    Frame,
    Tick,
    divider_periods,
    margin_labels,
    nice_ticks,
    pct,
    per_week,
    place_dividers,
)
from kaizen.charts.xmr_marks import Band, DoWindow, FrozenBaseline, Point, XmrSvg

INSET = 4  # px between the plot's edges and the first and last period's point
RULE_WORDS = {
    XmrRule.OUTSIDE_LIMITS: "outside the limits",
    XmrRule.THREE_OF_FOUR: "3 of 4 beyond the half-way line",
    XmrRule.EIGHT_ON_ONE_SIDE: "8 in a row on one side",
}


def xmr_svg(
    *,
    key: str,
    title: str,
    unit: str,
    periods: Sequence[dt.date],
    values: Sequence[float | None],
    dividers: Sequence[tuple[dt.date, str, str]] = (),
    baseline: FrozenBaseline | None = None,
    fmt: Callable[[float], str] = per_week,
    period_days: int = 7,
    period_why: str = "",
    notes: Sequence[str] = (),
    y_label: str = "",
    volumes: Sequence[int] | None = None,
    volume_label: str = "decided",
) -> XmrSvg:
    """An XmR chart of a weekly (or k-weekly) series, in every frame (``layouts``; the chart
    itself is the widest). Periods without a value (too few decided deals to judge) are left
    out of the chart's arithmetic and drawn as a gap.

    ``dividers``: (date, label, kind "do" or "definition"), marked at the period containing the
    date. Without a ``baseline`` each starts new limits; with one, the baseline's limits hold
    across the chart and only the Do window is judged (the Check's rules, not new limits).
    ``period_why`` says why a point is that many weeks; it opens the chart's ``notes``.
    """
    weeks = period_days // 7
    period = "one week" if weeks == 1 else f"{weeks} weeks pooled"
    said = (f"Each point: {period}" + (f", {period_why}" if period_why else "") + ".",)
    args = dict(
        key=key,
        title=title,
        unit=unit,
        periods=periods,
        values=values,
        dividers=dividers,
        baseline=baseline,
        fmt=fmt,
        period_days=period_days,
        y_label=y_label,
        volumes=volumes,
        volume_label=volume_label,
        notes=said + tuple(notes),
    )
    layouts = tuple(_draw(frame, **args) for frame in FRAMES)
    return replace(layouts[0], layouts=layouts)


def _draw(
    frame: Frame,
    *,
    key,
    title,
    unit,
    periods,
    values,
    dividers,
    baseline,
    fmt,
    period_days,
    y_label,
    volumes,
    volume_label,
    notes,
) -> XmrSvg:
    width, height, left = frame.width, frame.height, frame.left
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    plot_w, plot_h = width - left - frame.right, height - TOP - frame.bottom
    n = len(periods)
    weeks = period_days // 7
    head = dict(
        key=key,
        title=title,
        unit=unit,
        y_label=(y_label or unit) if frame.y_title else "",
        x_label="Week starting" if weeks == 1 else f"{weeks} weeks starting",
        frozen=baseline is not None,
        frame=frame.name,
        width=width,
        height=height,
        plot_left=left,
        plot_right=width - frame.right,
        plot_bottom=height - frame.bottom,
        notes=tuple(notes),
    )
    if len(known) < 2:
        return XmrSvg(**head, desc=f"{title}: not enough weeks with data to chart yet.", empty=True)

    def x_of(i: float) -> float:
        """Inset by the points' radius, so that a dot at either end stays inside the plot."""
        return round(left + INSET + (plot_w - 2 * INSET) * (i + 0.5) / n, 1)

    marks = divider_periods(periods, dividers, period_days)
    do_start = baseline.do_start if baseline and baseline.do_start is not None else None
    if do_start is not None and do_start < n:
        marks.setdefault(do_start, []).insert(0, (f"Do starts {periods[do_start]:%-d %b}", "do"))

    judged: dict[int, XmrPoint]  # index of a period -> its point as the rules judge it
    if baseline is None:
        # A divider starts a new segment at the first period with a value from its period on.
        first_known = (next((k for k, (i, _) in enumerate(known) if i >= p), None) for p in marks)
        chart = xmr_chart([v for _, v in known], breaks=sorted({k for k in first_known if k}))
        segments = [(known[s.start][0], known[s.end - 1][0], s.limits) for s in chart.segments]
        judged = {known[p.index][0]: p for p in chart.points}
    else:
        segments = [(0, n - 1, baseline.limits)]
        do = [(i, v) for i, v in known if do_start is not None and i >= do_start]
        do_points = xmr_points([v for _, v in do], baseline.limits)
        judged = {i: p for (i, _), p in zip(do, do_points, strict=True)}

    limits = [lim for *_, lim in segments if lim]
    span = [v for _, v in known] + [v for lim in limits for v in (lim.upper, lim.lower)]
    if baseline and baseline.do_mean is not None:
        span.append(baseline.do_mean)
    low, high = min(span), max(span)
    if high - low < 1e-6:  # a flat series: room around its one value
        pad = 0.05 if fmt is pct else 1.0
        low, high = low - pad, high + pad
    if min(v for _, v in known) >= 0:  # counts and rates: nothing below zero, and zero if near
        low = max(low, 0.0)
        low = 0.0 if low < (high - low) * 0.6 else low
    if fmt is pct:  # a rate lives in 0–100 %, whatever the limits' arithmetic says
        low, high = max(low, 0.0), min(high, 1.0)
    ticks = nice_ticks(low, high)
    tick_fmt = fmt if fmt is not per_week else (lambda t: f"{t:g}")
    y_min, y_max = ticks[0], ticks[-1]

    def y_of(v: float) -> float:
        v = min(max(v, y_min), y_max)
        return round(TOP + plot_h * (1 - (v - y_min) / (y_max - y_min)), 1)

    def shown(lim: XmrLimits) -> tuple[float, float]:
        """The limits as a reader can meet them: a rate within 0–100 %, no count below zero."""
        upper = min(lim.upper, 1.0) if fmt is pct else lim.upper
        return max(lim.lower, min(0.0, y_min)), upper

    period_word = "Week of" if weeks == 1 else f"{weeks} weeks from"
    points = []
    for i, v in known:
        verdict = judged.get(i)
        signal = {1: "up", -1: "down"}.get(verdict.direction, "") if verdict else ""
        why = ", ".join(RULE_WORDS[r] for r in verdict.rules) if signal else ""
        title_text = f"{period_word} {periods[i]:%-d %b %Y}: {fmt(v)}"
        if volumes is not None:
            title_text += f" ({volumes[i]} {volume_label})"
        if signal:
            title_text += f" — signal {signal}: {why}"
        points.append(
            Point(
                x_of(i),
                y_of(v),
                f"{periods[i]:%-d %b %Y}",
                fmt(v),
                title_text,
                signal,
                why,
                in_do=do_start is not None and i >= do_start,
            )
        )
    path, previous = [], None
    for (i, _), point in zip(known, points, strict=True):
        path.append(
            ("L" if previous is not None and i == previous + 1 else "M") + f"{point.x},{point.y}"
        )
        previous = i

    bands = []
    for first, last, lim in segments:
        x1, x2 = x_of(first - 0.5), x_of(last + 0.5)
        if lim is None:
            bands.append(Band(x1, x2))
            continue
        lower, upper = shown(lim)
        visible_lower = lower if lim.lower > y_min else None
        bands.append(
            Band(
                x1,
                x2,
                mean=y_of(lim.mean),
                upper=y_of(upper),
                lower=y_of(visible_lower) if visible_lower is not None else None,
                bottom=y_of(lower),
                mean_label=fmt(lim.mean),
                upper_label=fmt(upper),
                lower_label=fmt(visible_lower) if visible_lower is not None else "",
            )
        )
    latest_band = bands[-1]
    lines = []
    if latest_band.mean is not None:
        mean_name = frame.frozen_mean if baseline else frame.mean
        lines = [
            (latest_band.upper, frame.upper, latest_band.upper_label, "upper"),
            (latest_band.mean, mean_name, latest_band.mean_label, "mean"),
        ]
        if latest_band.lower is not None:
            lines.append((latest_band.lower, frame.lower, latest_band.lower_label, "lower"))

    do_window = None
    if do_start is not None and do_start < n:
        x_do = x_of(do_start - 0.5)
        do_mean = baseline.do_mean
        do_window = DoWindow(
            x_do,
            round(x_of(n - 0.5) - x_do, 1),
            y_of(do_mean) if do_mean is not None else None,
            fmt(do_mean) if do_mean is not None else "",
        )
    placed = place_dividers(
        [
            (x_of(i - 0.5), "; ".join(label for label, _ in found), _divider_kind(found))
            for i, found in sorted(marks.items())
        ],
        left=left,
        right=width - frame.right,
        width=width,
        chars=frame.label_chars,
    )
    step = max(1, math.ceil(n / frame.x_ticks))
    x_ticks = tuple(Tick(x_of(i), f"{periods[i]:%-d %b}") for i in range(n - 1, -1, -step))[::-1]
    signals = [p for p in points if p.signal]
    desc = chart_description(
        title=title,
        unit=unit,
        periods=[periods[i] for i, _ in known],
        points=points,
        limits=segments[-1][2],
        shown=shown,
        fmt=fmt,
        baseline=baseline,
        do_from=periods[do_start] if do_window else None,
        dividers=placed,
    )
    return XmrSvg(
        **head,
        desc=desc,
        path=" ".join(path),
        radius=4.0 if n <= 26 else 3.0,
        points=tuple(points),
        bands=tuple(bands),
        margin_labels=margin_labels(lines),
        dividers=placed,
        do=do_window,
        y_ticks=tuple(Tick(y_of(t), tick_fmt(t)) for t in ticks),
        x_ticks=x_ticks,
        signals=len(signals),
        signal_kinds=tuple(k for k in ("up", "down") if any(p.signal == k for p in points)),
        do_points=any(p.in_do and not p.signal for p in points),
        latest=points[-1].value,
    )


def _divider_kind(found: list[tuple[str, str]]) -> str:
    """A definition change marks its period even when a Do start shares it."""
    return "definition" if any(kind == "definition" for _, kind in found) else "do"
