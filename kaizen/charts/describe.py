"""A chart in words, for screen readers (the SVG's <desc>)."""

from __future__ import annotations


def chart_description(
    *, title, unit, periods, points, limits, shown, fmt, baseline, do_from, dividers
) -> str:
    signals = [p for p in points if p.signal]
    where = " in the Do window" if baseline else ""
    text = (
        f"{title}, {len(points)} periods with data from {periods[0]:%-d %b %Y} to "
        f"{periods[-1]:%-d %b %Y}; latest {points[-1].value} {unit}."
    )
    if limits:
        lower, upper = shown(limits)
        text += (
            f" {'Baseline mean' if baseline else 'Mean'} {fmt(limits.mean)}, natural process "
            f"limits {fmt(lower)} to {fmt(upper)}."
        )
    else:
        text += " Too few points for limits."
    if do_from:
        text += f" The Do window starts in the week of {do_from:%-d %b %Y}."
        if baseline.do_mean is not None:
            text += f" Do window, all its weeks pooled: {fmt(baseline.do_mean)}."
    if signals:
        text += (
            f" {len(signals)} signal{'s' if len(signals) != 1 else ''}{where}: "
            + "; ".join(f"{p.label} {p.value} ({p.why})" for p in signals[-3:])
            + "."
        )
    else:
        text += f" No signals{where}: routine variation only."
    if dividers:
        text += f" Divided at: {'; '.join(d.label for d in dividers)}."
    return text
