"""Confidence intervals for rates: every rate the app shows carries its interval and its n.

Closed forms rather than scipy's per-call objects: the recompute evaluates thousands of these,
and the closed forms are exact (the tests check them against scipy).
"""

import math
from dataclasses import dataclass
from functools import cache

from scipy.stats import chi2, norm

# The one level of every interval the app computes and shows (pages, API, footer).
CONFIDENCE = 0.95


@cache
def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


@dataclass(frozen=True, slots=True)
class Rate:
    """A proportion k/n with its Wilson score interval.

    With n == 0 there is no estimate (``rate`` is None) and the interval is all of [0, 1].
    """

    successes: int
    n: int
    rate: float | None
    low: float
    high: float

    @property
    def failures(self) -> int:
        return self.n - self.successes


def wilson_interval(successes: int, n: int, *, confidence: float = CONFIDENCE) -> Rate:
    """Wilson score interval for successes out of n (the interval that behaves at 0 and n)."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return Rate(successes=0, n=0, rate=None, low=0.0, high=1.0)
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    # At 0 and n the bound is exactly 0 or 1; rounding would otherwise leave 1e-17 residue.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Rate(successes=successes, n=n, rate=p, low=low, high=high)


@dataclass(frozen=True, slots=True)
class Difference:
    """A difference of two proportions (first minus second) with its interval."""

    first: Rate
    second: Rate
    estimate: float | None
    low: float
    high: float


def proportion_difference(
    first_successes: int,
    first_n: int,
    second_successes: int,
    second_n: int,
    *,
    confidence: float = CONFIDENCE,
) -> Difference:
    """Newcombe's hybrid score interval (his method 10) for p1 - p2, built from two Wilson
    intervals: good coverage at small n and near 0 or 1, where the Wald interval is not."""
    a = wilson_interval(first_successes, first_n, confidence=confidence)
    b = wilson_interval(second_successes, second_n, confidence=confidence)
    if a.rate is None or b.rate is None:
        return Difference(first=a, second=b, estimate=None, low=-1.0, high=1.0)
    d = a.rate - b.rate
    low = d - math.hypot(a.rate - a.low, b.high - b.rate)
    high = d + math.hypot(a.high - a.rate, b.rate - b.low)
    return Difference(first=a, second=b, estimate=d, low=max(-1.0, low), high=min(1.0, high))


@dataclass(frozen=True, slots=True)
class CountRate:
    """Events per unit of exposure (e.g. arrivals per week) with an exact Poisson interval."""

    count: int
    exposure: float
    rate: float | None
    low: float
    high: float | None


def poisson_rate_interval(
    count: int, exposure: float, *, confidence: float = CONFIDENCE
) -> CountRate:
    """Exact (Garwood) interval for a Poisson rate: count events over ``exposure`` units."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if exposure <= 0:
        return CountRate(count=count, exposure=exposure, rate=None, low=0.0, high=None)
    alpha = 1 - confidence
    low = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count)) / 2
    high = float(chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return CountRate(
        count=count,
        exposure=exposure,
        rate=count / exposure,
        low=low / exposure,
        high=high / exposure,
    )
