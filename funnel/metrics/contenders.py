"""The contenders of the bottleneck verdict: the market's arrivals, every stage's conversion
and every stage's days in stage, each with its recent value, its interval, its target (the
manager's, else the demonstrated capability) and the p-value of its shortfall."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Literal

import numpy as np
from scipy.stats import norm

from funnel.metrics.accounting import StageSeries
from funnel.metrics.capability import (
    Capability,
    WeeklySeries,
    capability_test,
    fixed_target_p_value,
)
from funnel.metrics.edges import WeekDays
from funnel.metrics.intervals import CONFIDENCE, poisson_rate_interval, wilson_interval

MARKET = "market"
MIN_TARGET_DAYS = 1.0  # a stage deals pass within a day is not a flow constraint to judge

Metric = Literal["conversion", "arrivals", "days"]


@dataclass(frozen=True, slots=True)
class StageSpec:
    position: int
    station: str
    slug: str = ""
    target_conversion: float | None = None
    target_days: float | None = None


@dataclass(frozen=True, slots=True)
class YieldGap:
    """The arithmetic for one contender: a stage's conversion or days in stage, or the market's
    arrivals.

    ``current``/``low``/``high``: the recent window's value with its interval at ``confidence``
    (Wilson for a conversion, Poisson for arrivals a week, normal for mean days); ``n`` is the
    decided deals, the arrivals, or the deals that left the stage. ``gap`` is in won deals per
    week; ``math.inf`` when the stage converted nothing; None without a target or without data.
    ``p_value``: the chance of a shortfall this large if nothing changed; ``threshold``: the
    p-value below which it is a signal. ``signal_by`` names the test that made it one.
    ``from_week``: the first week the contender's series counts (after a log's warm-up).
    """

    metric: Metric
    stage_position: int | None
    station: str
    current: float | None
    low: float | None
    high: float | None
    confidence: float
    n: int
    target: float | None
    target_source: Literal["manager", "capability"] | None
    capability: float | None
    capability_from: date | None  # first week of the best window
    gap: float | None
    shortfall: bool
    signal: bool
    signal_by: tuple[str, ...]
    p_value: float | None = None
    threshold: float | None = None
    best: float | None = None  # the best window's own value, before the selection gain
    from_week: date | None = None


@dataclass(frozen=True, slots=True)
class VerdictSettings:
    """How much evidence the verdict asks for. ``family_confidence`` holds for all contenders
    together: each test is at (1 − family_confidence) / contenders (Bonferroni), so a steady
    funnel rarely shows a false shortfall by chance. ``confidence`` is the level of every
    interval shown, the one level the app uses everywhere."""

    recent_weeks: int = 13
    capability_weeks: int = 52
    min_decided: int = 30  # deals closed in the recent window, else not_enough_data
    min_window_decided: int = 30  # decided deals (or exits) a window needs to count as capability
    family_confidence: float = 0.95
    confidence: float = CONFIDENCE


def stage_days(
    week_days: WeekDays | None, position: int, weeks: Sequence[date]
) -> list[Sequence[tuple[float, int]]]:
    by_week = (week_days or {}).get(position, {})
    return [by_week.get(w, ()) for w in weeks]


def _tested(
    capability: Capability,
    *,
    manager_target: float | None,
    variance: float,
    size: float,
    higher_is_better: bool = True,
) -> dict:
    """The target and the p-value of the recent shortfall: against the manager's fixed target
    where set, else against the demonstrated capability."""
    if capability.current is None:
        return {"target": manager_target, "p_value": None, "source": None}
    if manager_target is not None:
        p = fixed_target_p_value(
            current=capability.current,
            target=manager_target,
            size=size,
            variance=variance,
            higher_is_better=higher_is_better,
        )
        return {"target": manager_target, "p_value": p, "source": "manager"}
    if capability.target is None:
        return {"target": None, "p_value": None, "source": None}
    return {"target": capability.target, "p_value": capability.p_value, "source": "capability"}


def arrivals_contender(
    arrivals: Sequence[int],
    weeks: Sequence[date],
    skip: int,
    manager_target: float | None,
    cfg: VerdictSettings,
) -> YieldGap:
    counts = np.asarray(arrivals[skip:], dtype=float)
    recent = cfg.recent_weeks
    capability = capability_test(
        WeeklySeries(counts, np.ones_like(counts)),
        kind="arrivals",
        window=recent,
        min_size=1,
        baseline_weeks=max(0, counts.size - recent),
    )
    now = poisson_rate_interval(int(counts[-recent:].sum()), recent, confidence=cfg.confidence)
    test = _tested(
        capability, manager_target=manager_target, variance=manager_target or 0.0, size=recent
    )
    return _yield_gap(
        "arrivals",
        None,
        MARKET,
        now.rate,
        now.low,
        now.high,
        now.count,
        capability,
        test,
        weeks,
        skip,
        cfg,
    )


def conversion_contender(
    stage: StageSpec, s: StageSeries, weeks: Sequence[date], skip: int, cfg: VerdictSettings
) -> YieldGap:
    advanced = np.asarray(s.advanced[skip:], dtype=float)
    decided = advanced + np.asarray(s.lost[skip:], dtype=float)
    recent = cfg.recent_weeks
    capability = capability_test(
        WeeklySeries(advanced, decided),
        kind="conversion",
        window=recent,
        min_size=cfg.min_window_decided,
        baseline_weeks=max(0, advanced.size - recent),
    )
    k, n = int(sum(s.advanced[-recent:])), int(sum(s.advanced[-recent:]) + sum(s.lost[-recent:]))
    now = wilson_interval(k, n, confidence=cfg.confidence)
    target = stage.target_conversion
    test = _tested(
        capability,
        manager_target=target,
        variance=target * (1 - target) if target is not None else 0.0,
        size=n,
    )
    if skip > len(weeks) - recent:  # the recent window is still the log's warm-up
        test = {"target": test["target"], "p_value": None, "source": test["source"]}
    return _yield_gap(
        "conversion",
        stage.position,
        stage.station,
        now.rate,
        now.low,
        now.high,
        n,
        capability,
        test,
        weeks,
        skip,
        cfg,
    )


def days_contender(
    stage: StageSpec,
    cells: Sequence[Sequence[tuple[float, int]]],
    weeks: Sequence[date],
    skip: int,
    cfg: VerdictSettings,
    never_lost: bool = False,
) -> YieldGap:
    # StageFlow keeps whole days, floored: a deal counted as d days spent d to d + 1, so its
    # mean is d + 1/2 (and a stage of same-day moves is not 0 days against 0).
    left, twice, four_squares = _days_sums(cells[skip:])
    total = twice / 2.0
    squares = float(int(four_squares.sum())) / 4.0
    recent = cfg.recent_weeks
    capability = capability_test(
        WeeklySeries(total, left.astype(float), higher_is_better=False),
        kind="days",
        window=recent,
        min_size=cfg.min_window_decided,
        baseline_weeks=max(0, total.size - recent),
        squares=squares,
    )
    n = int(left[-recent:].sum())
    mean = low = high = None
    if n:
        a, b = int(twice[-recent:].sum()), int(four_squares[-recent:].sum())
        mean = a / 2 / n
        # sum c (d - mean)^2 = (b n - a^2) / 4n, in exact integers then one division.
        var = (b * n - a * a) / (4 * n * max(1, n - 1))
        half = float(np.sqrt(var / n)) * float(norm.ppf(0.5 + cfg.confidence / 2))
        low, high = max(0.0, mean - half), mean + half
    test = _tested(capability, manager_target=None, variance=0.0, size=n, higher_is_better=False)
    # Too quick to judge in whole days; or a stage that never recorded a loss (leads that
    # never close stay open), where the days of the winners alone say nothing of its flow.
    if (test["target"] or 0) < MIN_TARGET_DAYS or never_lost:
        test = {"target": None, "p_value": None, "source": None}
    if skip > len(weeks) - recent:
        test = {"target": test["target"], "p_value": None, "source": test["source"]}
    return _yield_gap(
        "days",
        stage.position,
        stage.station,
        mean,
        low,
        high,
        n,
        capability,
        test,
        weeks,
        skip,
        cfg,
    )


def _days_sums(
    weeks: Sequence[Sequence[tuple[float, int]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per week: the deals that left, and the sums of 2(d + 1/2) and of (2(d + 1/2))^2 over
    them (whole days d), as exact integers (int64): one pass in numpy over all the cells."""
    lengths = [len(week) for week in weeks]
    flat = np.array(list(chain.from_iterable(chain.from_iterable(weeks))), dtype=np.int64).reshape(
        -1, 2
    )
    count, odd = flat[:, 1], 2 * flat[:, 0] + 1
    at = np.repeat(np.arange(len(weeks)), lengths)
    sums = np.zeros((3, len(weeks)), dtype=np.int64)
    for row, values in enumerate((count, count * odd, count * odd * odd)):
        np.add.at(sums[row], at, values)
    return sums[0], sums[1], sums[2]


def _yield_gap(
    metric, position, station, current, low, high, n, capability, test, weeks, skip, cfg
) -> YieldGap:
    best_at = capability.best_at
    return YieldGap(
        metric=metric,
        stage_position=position,
        station=station,
        current=current,
        low=low,
        high=high,
        confidence=cfg.confidence,
        n=int(n),
        target=test["target"],
        target_source=test["source"],
        capability=capability.target,
        capability_from=weeks[skip + best_at] if best_at is not None else None,
        gap=None,
        shortfall=False,
        signal=False,
        signal_by=(),
        p_value=test["p_value"],
        best=capability.best,
        from_week=weeks[skip] if skip < len(weeks) else None,
    )
