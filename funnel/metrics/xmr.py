"""Process behaviour (XmR) charts: telling signal from routine variation (DESIGN.md §4).

Limits come from a baseline: mean ± 2.66 × mean moving range (natural process limits), upper
range limit 3.268 × mean moving range. Three detection rules, each flagging the points that
make it up:

- ``outside_limits``: a point beyond a natural process limit;
- ``three_of_four``: at least 3 of 4 successive points beyond the same half-way line
  (mean ± 1.33 × mean moving range), i.e. closer to that limit than to the mean;
- ``eight_on_one_side``: 8 or more successive points on the same side of the mean
  (a point exactly on the mean ends the run).

A chart can be divided into segments (where a PDCA Do window starts or a definition changes):
each segment gets its own limits from its own first points, and runs never cross a divider.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

NPL_FACTOR = 2.66
HALF_WAY_FACTOR = 1.33
URL_FACTOR = 3.268
RUN_LENGTH = 8


class XmrRule(StrEnum):
    OUTSIDE_LIMITS = "outside_limits"
    THREE_OF_FOUR = "three_of_four"
    EIGHT_ON_ONE_SIDE = "eight_on_one_side"


@dataclass(frozen=True, slots=True)
class XmrLimits:
    mean: float
    mean_moving_range: float
    lower: float  # natural process limits
    upper: float
    lower_half: float  # half-way lines
    upper_half: float
    upper_range_limit: float
    baseline_points: int


@dataclass(frozen=True, slots=True)
class XmrPoint:
    """One point of the chart. ``direction`` is +1 for a signal above the mean, -1 below,
    0 for no signal; ``range_signal`` when its moving range exceeds the upper range limit."""

    index: int
    value: float
    segment: int
    moving_range: float | None
    rules: tuple[XmrRule, ...]
    direction: int
    range_signal: bool = False

    @property
    def signal(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True, slots=True)
class XmrSegment:
    """Points [start, end) of the chart. ``limits`` is None when the segment has fewer points
    than the minimum baseline: no limits, so no signals, rather than limits from two points."""

    start: int
    end: int
    limits: XmrLimits | None


@dataclass(frozen=True, slots=True)
class XmrChart:
    points: tuple[XmrPoint, ...]
    segments: tuple[XmrSegment, ...]


def xmr_limits(baseline: Sequence[float]) -> XmrLimits:
    """Limits from baseline values (at least two, to have a moving range)."""
    if len(baseline) < 2:
        raise ValueError("an XmR baseline needs at least two values")
    # Clamped to the values' range: a constant baseline then has exactly its value as mean,
    # so rounding cannot put constant points on one side of it.
    mean = min(max(math.fsum(baseline) / len(baseline), min(baseline)), max(baseline))
    ranges = [abs(b - a) for a, b in zip(baseline, baseline[1:], strict=False)]
    mmr = sum(ranges) / len(ranges)
    return XmrLimits(
        mean=mean,
        mean_moving_range=mmr,
        lower=mean - NPL_FACTOR * mmr,
        upper=mean + NPL_FACTOR * mmr,
        lower_half=mean - HALF_WAY_FACTOR * mmr,
        upper_half=mean + HALF_WAY_FACTOR * mmr,
        upper_range_limit=URL_FACTOR * mmr,
        baseline_points=len(baseline),
    )


def xmr_points(
    values: Sequence[float], limits: XmrLimits | None, *, start_index: int = 0, segment: int = 0
) -> tuple[XmrPoint, ...]:
    """Judge ``values`` (one undivided stretch) against ``limits``.

    Use it directly to hold points against an earlier period's limits, e.g. the weeks of a Do
    window against the limits of the weeks before it.
    """
    n = len(values)
    rules: list[list[XmrRule]] = [[] for _ in range(n)]
    moving = [None, *(abs(b - a) for a, b in zip(values, values[1:], strict=False))]
    if limits is None:
        return tuple(
            XmrPoint(start_index + i, float(v), segment, moving[i], (), 0)
            for i, v in enumerate(values)
        )
    mean = limits.mean
    above = [v > mean for v in values]
    below = [v < mean for v in values]

    for i, v in enumerate(values):
        if v > limits.upper or v < limits.lower:
            rules[i].append(XmrRule.OUTSIDE_LIMITS)

    beyond_high = [v > limits.upper_half for v in values]
    beyond_low = [v < limits.lower_half for v in values]
    three = [False] * n
    for beyond in (beyond_high, beyond_low):
        # A stretch of only three points counts when all three are beyond (a short Do window).
        for i in range(max(1, n - 3)):
            if sum(beyond[i : i + 4]) >= 3:
                for j in range(i, min(i + 4, n)):
                    three[j] = three[j] or beyond[j]
    for i in range(n):
        if three[i]:
            rules[i].append(XmrRule.THREE_OF_FOUR)

    for side in (above, below):
        run_start = None
        for i in range(n + 1):
            if i < n and side[i]:
                run_start = i if run_start is None else run_start
                continue
            if run_start is not None and i - run_start >= RUN_LENGTH:
                for j in range(run_start, i):
                    rules[j].append(XmrRule.EIGHT_ON_ONE_SIDE)
            run_start = None

    return tuple(
        XmrPoint(
            index=start_index + i,
            value=float(v),
            segment=segment,
            moving_range=moving[i],
            rules=tuple(rules[i]),
            direction=(1 if above[i] else -1) if rules[i] else 0,
            range_signal=moving[i] is not None and moving[i] > limits.upper_range_limit,
        )
        for i, v in enumerate(values)
    )


def xmr_chart(
    values: Sequence[float],
    *,
    breaks: Iterable[int] = (),
    baseline_length: int = 12,
    min_baseline: int = 5,
) -> XmrChart:
    """An XmR chart of ``values`` divided before each index in ``breaks``.

    Each segment's limits come from its first ``baseline_length`` points (all of them when it
    is shorter), provided it has at least ``min_baseline`` points.
    """
    if baseline_length < 2 or min_baseline < 2:
        raise ValueError("baselines need at least two points")
    cuts = sorted({b for b in breaks if 0 < b < len(values)})
    bounds = list(zip([0, *cuts], [*cuts, len(values)], strict=True)) if values else []
    points: list[XmrPoint] = []
    segments: list[XmrSegment] = []
    for number, (start, end) in enumerate(bounds):
        stretch = values[start:end]
        baseline = stretch[:baseline_length]
        limits = xmr_limits(baseline) if len(baseline) >= min_baseline else None
        segments.append(XmrSegment(start, end, limits))
        points.extend(xmr_points(stretch, limits, start_index=start, segment=number))
    return XmrChart(points=tuple(points), segments=tuple(segments))
