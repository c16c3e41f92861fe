"""Number formats for the dashboard: rates as percent, weekly volumes, days, signed gaps, and
how far behind the figures are."""

import datetime as dt
import math

from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.3023 -> "30 %"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.0f} %"


@register.filter
def pct_range(low, high) -> str:
    if low is None or high is None:
        return ""
    return f"{float(low) * 100:.0f}–{float(high) * 100:.0f} %"


@register.filter
def weekly(value) -> str:
    """A weekly volume: one decimal below 10, whole numbers above."""
    if value is None or value == "":
        return "—"
    value = float(value)
    return f"{value:.1f}" if abs(value) < 10 else f"{value:,.0f}"


@register.filter
def signed(value) -> str:
    """A gap in won deals a week: "+0.64"."""
    if value is None or value == "":
        return "—"
    return f"{float(value):+.2f}"


@register.filter
def days(value) -> str:
    if value is None or value == "":
        return "—"
    value = float(value)
    return f"{value:.0f} d" if value >= 10 else f"{value:.1f} d"


@register.filter
def bar_pos(value, scale=1.0) -> str:
    """A value as a percentage position along a bar of length ``scale`` (clamped 0–100)."""
    if value is None or value == "":
        return "0"
    return f"{max(0.0, min(100.0, float(value) / float(scale) * 100)):.1f}"


def _nearest(value: float) -> int:
    # Halves round up, as JavaScript's Math.round does in static/js/dashboard.js.
    return math.floor(value + 0.5)


@register.filter
def lag_words(seconds) -> str:
    """How far behind, in words: "40 seconds", "1 minute", "3 hours", "2 days". The page's
    script keeps the same words current between polls."""
    seconds = float(seconds)
    if (count := max(1, _nearest(seconds))) < 60:
        unit = "second"
    elif (minutes := _nearest(seconds / 60)) < 60:
        count, unit = minutes, "minute"
    elif (hours := _nearest(seconds / 3600)) < 24:
        count, unit = hours, "hour"
    else:
        count, unit = _nearest(seconds / 86400), "day"
    return f"{count} {unit}" + ("" if count == 1 else "s")


@register.filter
def iso_day(value) -> str:
    """An ISO date from a verdict's figures as people read it: 29 Feb 2012."""
    if not value:
        return ""
    day = dt.date.fromisoformat(str(value))
    return f"{day.day} {day:%b %Y}"


@register.filter
def iso_day_before(value) -> str:
    """The last day of a period whose ISO end is exclusive: "2012-02-27" -> 26 Feb 2012."""
    if not value:
        return ""
    return iso_day((dt.date.fromisoformat(str(value)) - dt.timedelta(days=1)).isoformat())
