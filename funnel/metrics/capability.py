"""A stage's demonstrated capability, and whether its recent shortfall is beyond chance.

A contender is a weekly series of (amount, size) pairs whose value over a run of weeks is
sum(amount) / sum(size): a conversion (advanced of decided deals), arrivals (deals a week, size
1 a week) or days in stage (total days of the deals that left, of how many left).

Its demonstrated capability is its best value over rolling windows as long as the recent one.
That best is the luckiest of some forty overlapping windows, so comparing the recent window with
it as if it were a fixed number would call ordinary noise a shortfall too often. The test here
accounts for the choice: under the null hypothesis that nothing changed (every week draws from
the pooled rate, with the week-to-week spread the baseline weeks show, never less than chance),
it simulates the same weeks many times and asks how often the best window beats the recent one
by as much as it does in the data. That p-value, not an interval, decides whether a shortfall is
a signal; the capability shown as the target is the best window less what the best of that many
windows gains by luck alone under the null (its expected selection gain).

Weekly amounts are drawn from a normal law with the week's mean and variance: each window sums
at least ``min_size`` units (30 decided deals), where the normal law is close. The draws use a
fixed seed, so the same data always gets the same verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.stats import norm

SIMULATIONS = 2000
SEED = 20_141


@cache
def _standard_normals(weeks: int) -> np.ndarray:
    """The same draws for every contender of every verdict: results are reproducible, and one
    matrix serves all the contenders of a team."""
    rng = np.random.default_rng(SEED)
    normals = rng.standard_normal((SIMULATIONS, weeks))
    normals.setflags(write=False)
    return normals


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    """One contender's weeks, oldest first; ``higher_is_better`` is False for days."""

    amount: np.ndarray
    size: np.ndarray
    higher_is_better: bool = True


@dataclass(frozen=True, slots=True)
class Capability:
    """The outcome of the test for one contender.

    ``best`` is the best window's value and ``best_at`` the index of its first week;
    ``target`` is ``best`` less its expected selection gain; ``current`` is the recent window's
    value. ``p_value`` is the chance, if nothing changed, that the best window beats the recent
    one by at least as much as in the data (1.0 when the recent window is not worse than the
    best). ``dispersion`` is the spread of the baseline weeks relative to chance (at least 1).
    """

    current: float | None
    best: float | None
    best_at: int | None
    target: float | None
    p_value: float
    dispersion: float
    windows: int


def _window_values(amount: np.ndarray, size: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Sums over every run of ``window`` consecutive weeks along the last axis."""
    zeros = np.zeros((*amount.shape[:-1], 1))
    csum_a = np.concatenate([zeros, np.cumsum(amount, axis=-1)], axis=-1)
    csum_s = np.concatenate([np.zeros(1), np.cumsum(size)])
    sums_a = csum_a[..., window:] - csum_a[..., :-window]
    sums_s = csum_s[window:] - csum_s[:-window]
    return sums_a, sums_s


def _unit_variance(amount: np.ndarray, size: np.ndarray, kind: str, square: float) -> float:
    """The variance of one unit's amount if nothing changed: p(1 - p) for a conversion, the
    rate for Poisson arrivals, the deals' own variance for days in stage."""
    total = size.sum()
    mean = amount.sum() / total
    if kind == "conversion":
        return mean * (1 - mean)
    if kind == "arrivals":
        return mean
    return max(square / total - mean * mean, 0.0)  # days: the deals' own variance


def capability_test(
    series: WeeklySeries,
    *,
    kind: str,
    window: int,
    min_size: float,
    baseline_weeks: int,
    squares: float = 0.0,
) -> Capability:
    """Test the recent window (the last ``window`` weeks of the series) against the best window.

    ``baseline_weeks``: the weeks before the recent window whose spread estimates the
    dispersion. ``squares``: for days, the sum over deals of days squared (for the variance).
    """
    amount = np.asarray(series.amount, dtype=float)
    size = np.asarray(series.size, dtype=float)
    sign = 1.0 if series.higher_is_better else -1.0
    none = Capability(None, None, None, None, 1.0, 1.0, 0)
    if amount.size < window or size[-window:].sum() <= 0 or size.sum() <= 0:
        return none
    sums_a, sums_s = _window_values(amount, size, window)
    eligible = sums_s >= min_size
    eligible[-1] = sums_s[-1] > 0
    current = float(sums_a[-1] / sums_s[-1])
    if eligible[:-1].sum() == 0:
        return Capability(current, None, None, None, 1.0, 1.0, 0)
    values = np.where(eligible, sums_a / np.where(sums_s > 0, sums_s, 1), np.nan)
    best_at = int(np.nanargmax(sign * values))
    best = float(values[best_at])
    mean = amount.sum() / size.sum()
    variance = _unit_variance(amount, size, kind, squares)
    dispersion = _dispersion(amount, size, mean, variance, baseline_weeks)
    # Under the null: each week's amount ~ Normal(mean × size, dispersion × variance × size).
    normals = _standard_normals(amount.size)
    draws = mean * size + np.sqrt(dispersion * variance * size) * normals
    sim_a, _ = _window_values(draws, size, window)
    sim_values = np.where(eligible, sim_a / np.where(sums_s > 0, sums_s, 1), np.nan)
    sim_best = np.nanmax(sign * sim_values, axis=1)
    sim_gap = sim_best - sign * sim_values[:, -1]
    gap = sign * (best - current)
    p_value = 1.0 if gap <= 0 else float((1 + np.count_nonzero(sim_gap >= gap)) / (1 + len(draws)))
    selection_gain = float(np.mean(sim_best - sign * mean))
    target = best - sign * max(selection_gain, 0.0)
    # Never a target worse than the pooled rate: that much the team has shown on average.
    target = max(target, mean) if sign > 0 else min(target, mean)
    return Capability(
        current=current,
        best=best,
        best_at=best_at,
        target=float(target),
        p_value=p_value,
        dispersion=dispersion,
        windows=int(eligible.sum()),
    )


def _dispersion(
    amount: np.ndarray, size: np.ndarray, mean: float, variance: float, baseline_weeks: int
) -> float:
    """Pearson's dispersion of the baseline weeks: their spread around the pooled rate over
    the spread chance alone gives; 1 when they vary no more than chance (or too few weeks)."""
    base_a, base_s = amount[:baseline_weeks], size[:baseline_weeks]
    used = base_s > 0
    if used.sum() < 4 or variance <= 0:
        return 1.0
    chi2 = np.sum((base_a[used] - mean * base_s[used]) ** 2 / (variance * base_s[used]))
    return max(1.0, float(chi2 / (used.sum() - 1)))


def fixed_target_p_value(
    *, current: float, target: float, size: float, variance: float, higher_is_better: bool = True
) -> float:
    """A manager's target is a fixed number, chosen before the data: a one-sided z-test of the
    recent window against it, at the target's own variance."""
    if size <= 0:
        return 1.0
    shortfall = (target - current) if higher_is_better else (current - target)
    if shortfall <= 0:
        return 1.0
    scale = math.sqrt(variance / size) if variance > 0 else 0.0
    if scale == 0:
        return 0.0
    return float(norm.sf(shortfall / scale))
