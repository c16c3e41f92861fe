"""The PDCA Check, computed from weekly counts rather than claimed (DESIGN.md §4). Pure: no ORM.

Two metrics (a tactic's answer rate, kaizen.check_tactic, is judged like conversion):

- ``conversion`` of a stage: each week's advanced / (advanced + lost), deals decided that week;
- ``arrivals``: deals entering the first stage each week.

The Check asks two questions of the Do window and labels the answer observational (nobody
randomised which deals got the change):

1. Did the Do weeks produce an XmR signal against the baseline's natural process limits, in the
   predicted direction?
2. How large is the before/after effect, with its interval (Newcombe's for a difference of two
   proportions; a normal interval for a difference of two Poisson rates)? With a comparison team
   that did not make the change, the difference-in-differences, whose variance is the sum of the
   four periods' variances (normal approximation).

Guards: a Do window shorter than ``min_do_weeks`` complete weeks, or with fewer than
``min_decided`` decided deals (arrivals, for the arrivals metric), is "not enough evidence yet".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from scipy.stats import norm

from funnel.metrics.intervals import (
    CONFIDENCE,
    poisson_rate_interval,
    proportion_difference,
    wilson_interval,
)
from funnel.metrics.xmr import XmrLimits, xmr_limits, xmr_points

CONVERSION = "conversion"
ARRIVALS = "arrivals"
MIN_DO_WEEKS = 2
MIN_DECIDED = 20
MIN_BASELINE_POINTS = 5
OBSERVATIONAL = "Observational — no randomised control"
# The one confidence level of every interval (funnel.metrics.intervals.CONFIDENCE).
Z = float(norm.ppf(0.5 + CONFIDENCE / 2))


@dataclass(frozen=True, slots=True)
class WeekCount:
    """One week of a stage (or of arrivals): deals that entered, advanced and were lost."""

    week: date
    entered: int = 0
    advanced: int = 0
    lost: int = 0

    @property
    def decided(self) -> int:
        return self.advanced + self.lost


def week_value(metric: str, count: WeekCount) -> float | None:
    if metric == ARRIVALS:
        return float(count.entered)
    return count.advanced / count.decided if count.decided else None


def week_volume(metric: str, count: WeekCount) -> int:
    """What the evidence guard counts: decided deals (conversion) or arrivals."""
    return count.entered if metric == ARRIVALS else count.decided


@dataclass(frozen=True, slots=True)
class Totals:
    """Pooled counts over a stretch of weeks: successes of n (conversion) or count over weeks."""

    successes: int
    n: int
    weeks: int

    @property
    def value(self) -> float | None:
        if self.weeks == 0:
            return None
        return self.successes / self.n if self.n else None


def totals(metric: str, counts: Sequence[WeekCount]) -> Totals:
    if metric == ARRIVALS:
        arrivals = sum(c.entered for c in counts)
        # n is the exposure in weeks, so value = arrivals per week.
        return Totals(successes=arrivals, n=len(counts), weeks=len(counts))
    return Totals(
        successes=sum(c.advanced for c in counts),
        n=sum(c.decided for c in counts),
        weeks=len(counts),
    )


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a committed plan freezes: the pooled value with its interval and the XmR limits."""

    value: float | None
    low: float | None
    high: float | None
    successes: int
    n: int
    weeks: int
    limits: dict | None


def baseline_capture(metric: str, counts: Sequence[WeekCount]) -> Baseline:
    pooled = totals(metric, counts)
    if metric == ARRIVALS:
        rate = poisson_rate_interval(pooled.successes, pooled.n)
        value, low, high = rate.rate, rate.low, rate.high
    else:
        wilson = wilson_interval(pooled.successes, pooled.n)
        value = wilson.rate
        low, high = (wilson.low, wilson.high) if pooled.n else (None, None)
    values = [v for c in counts if (v := week_value(metric, c)) is not None]
    limits = asdict(xmr_limits(values)) if len(values) >= MIN_BASELINE_POINTS else None
    return Baseline(value, low, high, pooled.successes, pooled.n, pooled.weeks, limits)


@dataclass(frozen=True, slots=True)
class Effect:
    """After minus before (or a difference-in-differences) with its interval at CONFIDENCE."""

    estimate: float | None
    low: float | None
    high: float | None
    before: float | None
    after: float | None
    method: str
    comparison_before: float | None = None
    comparison_after: float | None = None


def before_after(metric: str, before: Totals, after: Totals) -> Effect:
    if metric == ARRIVALS:
        return _rate_difference(before, after)
    diff = proportion_difference(after.successes, after.n, before.successes, before.n)
    if diff.estimate is None:
        return Effect(None, None, None, before.value, after.value, "Newcombe hybrid score")
    return Effect(
        diff.estimate, diff.low, diff.high, before.value, after.value, "Newcombe hybrid score"
    )


def _rate_difference(before: Totals, after: Totals) -> Effect:
    method = "difference of Poisson rates, normal approximation"
    if not before.weeks or not after.weeks:
        return Effect(None, None, None, before.value, after.value, method)
    estimate = after.successes / after.weeks - before.successes / before.weeks
    se = math.sqrt(_rate_variance(after) + _rate_variance(before))
    half = Z * se
    return Effect(estimate, estimate - half, estimate + half, before.value, after.value, method)


def _rate_variance(stretch: Totals) -> float:
    return stretch.successes / stretch.weeks**2


def _proportion_variance(stretch: Totals) -> float:
    p = stretch.successes / stretch.n
    return p * (1 - p) / stretch.n


def difference_in_differences(
    metric: str,
    before: Totals,
    after: Totals,
    comparison_before: Totals,
    comparison_after: Totals,
) -> Effect:
    """(after − before) of the team minus (after − before) of the comparison team."""
    four = (before, after, comparison_before, comparison_after)
    method = "difference-in-differences, normal approximation"
    exposure = [(t.weeks if metric == ARRIVALS else t.n) for t in four]
    if min(exposure) == 0:
        return Effect(None, None, None, before.value, after.value, method)
    variance = _rate_variance if metric == ARRIVALS else _proportion_variance
    per_week = (lambda t: t.successes / t.weeks) if metric == ARRIVALS else (lambda t: t.value)
    b, a, cb, ca = (per_week(t) for t in four)
    estimate = (a - b) - (ca - cb)
    half = Z * math.sqrt(sum(variance(t) for t in four))
    return Effect(estimate, estimate - half, estimate + half, b, a, method, cb, ca)


def check_opens_on(do_start: date, min_do_weeks: int = MIN_DO_WEEKS) -> date:
    """The first day the Do window has ``min_do_weeks`` complete weeks: the Monday after them."""
    monday = do_start - timedelta(days=do_start.weekday())
    return monday + timedelta(weeks=min_do_weeks)


def check_waits_for(
    *,
    metric: str,
    do_weeks: int,
    do_volume: int,
    opens_on: date | None = None,
    min_do_weeks: int = MIN_DO_WEEKS,
    min_decided: int = MIN_DECIDED,
    volume_nouns: tuple[str, str] | None = None,
) -> str:
    """What the Check still waits for, as one sentence with the date it opens (``opens_on``,
    see ``check_opens_on``) and how many deals are missing; empty once its evidence rules are
    met (the same two guards ``cycle_check`` applies), whatever the Do window's planned end."""
    deals_missing = max(min_decided - do_volume, 0)
    one, many = volume_nouns or (
        ("new deal", "new deals") if metric == ARRIVALS else ("decided deal", "decided deals")
    )
    what = one if deals_missing == 1 else many
    deals = f"{deals_missing} more {what} ({do_volume} of {min_decided} so far)"
    if do_weeks < min_do_weeks:
        when = f"on {opens_on:%a %-d %b %Y}, " if opens_on else ""
        weeks = (
            f"The Check opens {when}when the Do window has {min_do_weeks} complete weeks "
            f"({do_weeks} so far)"
        )
        return f"{weeks}, and once it has {deals}." if deals_missing else f"{weeks}."
    if deals_missing:
        return f"The Check opens once the Do window has {deals}."
    return ""


@dataclass(frozen=True, slots=True)
class Signal:
    index: int
    week: date
    value: float
    rules: tuple[str, ...]
    direction: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    metric: str
    enough_evidence: bool
    reasons: tuple[str, ...]
    verdict: str
    verdict_label: str
    weeks: tuple[date, ...]
    values: tuple[float | None, ...]
    volumes: tuple[int, ...]
    do_start_index: int
    do_weeks: int
    do_volume: int
    limits: dict | None
    signals: tuple[Signal, ...]
    signal_predicted: bool
    signal_against: bool
    effect: Effect
    did: Effect | None
    before: Totals
    after: Totals
    predicted_direction: int
    predicted_size: float | None
    size_reached: bool | None
    label: str = OBSERVATIONAL
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        data = asdict(self)
        data["weeks"] = [w.isoformat() for w in self.weeks]
        data["signals"] = [{**s, "week": s["week"].isoformat()} for s in data["signals"]]
        return data


VERDICT_LABELS = {
    "not_enough_evidence": "Not enough evidence yet",
    "supported": "Supported by the data",
    "partial": "Partly supported",
    "no_change": "No change beyond routine variation",
    "against": "Moved against the prediction",
}


def _excludes_zero(effect: Effect, direction: int) -> bool:
    if effect.estimate is None:
        return False
    return effect.low > 0 if direction > 0 else effect.high < 0


def cycle_check(
    *,
    metric: str,
    counts: Sequence[WeekCount],
    do_start_index: int,
    baseline: Baseline,
    predicted_direction: int,
    baseline_end_index: int | None = None,
    predicted_size: float | None = None,
    comparison: Sequence[WeekCount] | None = None,
    min_do_weeks: int = MIN_DO_WEEKS,
    min_decided: int = MIN_DECIDED,
    volume_noun: str = "",
) -> CheckResult:
    """Judge the Do weeks ``counts[do_start_index:]`` against the frozen ``baseline``.

    ``counts`` holds complete weeks only; ``comparison`` (same weeks, another team) enables the
    difference-in-differences, whose before/after both come from ``comparison`` itself.
    ``predicted_size`` is in percentage points (conversion) or arrivals a week. Weeks between
    ``baseline_end_index`` and ``do_start_index`` (a plan committed ahead of its Do start) are
    charted but neither baseline nor Do.
    """
    baseline_end = do_start_index if baseline_end_index is None else baseline_end_index
    if predicted_direction not in (1, -1):
        raise ValueError("predicted_direction is +1 (up) or -1 (down)")
    do_counts = list(counts[do_start_index:])
    do_volume = sum(week_volume(metric, c) for c in do_counts)
    values = [week_value(metric, c) for c in counts]

    reasons = []
    if len(do_counts) < min_do_weeks:
        plural = "" if len(do_counts) == 1 else "s"
        reasons.append(
            f"The Do window has run {len(do_counts)} complete week{plural}"
            f" of the {min_do_weeks} it needs."
        )
    if do_volume < min_decided:
        what = volume_noun or ("arrivals" if metric == ARRIVALS else "decided deals")
        reasons.append(
            f"{do_volume} {what} in the Do window; the Check needs at least {min_decided}."
        )
    if baseline.n == 0:
        reasons.append("The baseline has no data: nothing to compare the Do window with.")

    notes = []
    limits = XmrLimits(**baseline.limits) if baseline.limits else None
    if limits is None:
        notes.append("The baseline has too few weeks with data for process limits: no rules.")
    do_pairs = [(i, v) for i, v in enumerate(values) if i >= do_start_index and v is not None]
    points = xmr_points([v for _, v in do_pairs], limits)
    signals = tuple(
        Signal(i, counts[i].week, p.value, tuple(str(r) for r in p.rules), p.direction)
        for (i, _), p in zip(do_pairs, points, strict=True)
        if p.rules
    )
    signal_predicted = any(s.direction == predicted_direction for s in signals)
    signal_against = any(s.direction == -predicted_direction for s in signals)

    before = Totals(baseline.successes, baseline.n, baseline.weeks)
    after = totals(metric, do_counts)
    effect = before_after(metric, before, after)
    did = None
    if comparison is not None:
        did = difference_in_differences(
            metric,
            before,
            after,
            totals(metric, comparison[:baseline_end]),
            totals(metric, comparison[do_start_index:]),
        )

    size_reached = None
    if predicted_size is not None and effect.estimate is not None:
        scale = 1 if metric == ARRIVALS else 100
        size_reached = effect.estimate * scale * predicted_direction >= predicted_size

    interval_predicted = _excludes_zero(effect, predicted_direction)
    interval_against = _excludes_zero(effect, -predicted_direction)
    if reasons:
        verdict = "not_enough_evidence"
    elif signal_against or interval_against:
        verdict = "against"
    elif signal_predicted and interval_predicted:
        verdict = "supported"
    elif signal_predicted or interval_predicted:
        verdict = "partial"
    else:
        verdict = "no_change"
    return CheckResult(
        metric=metric,
        enough_evidence=not reasons,
        reasons=tuple(reasons),
        verdict=verdict,
        verdict_label=VERDICT_LABELS[verdict],
        weeks=tuple(c.week for c in counts),
        values=tuple(values),
        volumes=tuple(week_volume(metric, c) for c in counts),
        do_start_index=do_start_index,
        do_weeks=len(do_counts),
        do_volume=do_volume,
        limits=baseline.limits,
        signals=signals,
        signal_predicted=signal_predicted,
        signal_against=signal_against,
        effect=effect,
        did=did,
        before=before,
        after=after,
        predicted_direction=predicted_direction,
        predicted_size=predicted_size,
        size_reached=size_reached,
        notes=tuple(notes),
    )
