"""The bottleneck verdict over the five stations (DESIGN.md §4).

One currency: won deals per week the team would gain if a stage reached its target. For a
conversion, ``gap_i = W × (target_i / c_i − 1)``, with W the won deals per week and c_i the
stage's conversion over the recent window; the market's arrivals compete the same way. For days
in a stage (flow), ``gap_i = W × (d_i / target_i − 1)``: at the same waiting work, a stage that
takes d days passes WIP / d deals a week (Little's law), so at its target the wins scale by
d / target. A target is the manager's where set (conversion, arrivals), else the team's
demonstrated capability: its best window as long as the recent one in the last year, less what
the best of that many windows gains by luck alone (funnel.metrics.capability).

Only a shortfall that is a signal may win: one that chance alone gives with probability below
``(1 − family_confidence) / contenders`` (Bonferroni), by a test that accounts for the target
being the best of many windows. The verdict's edges are honest: the weeks at the start of a log
that are younger than a stage's usual decision time (its losses have not happened yet), a
final week that may be partial (nothing arrived after it) and the empty weeks after the data
stops never count.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

import numpy as np
from scipy.stats import norm

from funnel.metrics.accounting import StageSeries, StageWeek, stage_series, week_start
from funnel.metrics.capability import (
    Capability,
    WeeklySeries,
    capability_test,
    fixed_target_p_value,
)
from funnel.metrics.flow import StageFlow, days_in_stage_counts
from funnel.metrics.intervals import CONFIDENCE, poisson_rate_interval, wilson_interval

BEYOND_CHANCE = "beyond_chance"
MIN_TARGET_DAYS = 1.0  # a stage deals pass within a day is not a flow constraint to judge
MARKET = "market"
Metric = Literal["conversion", "arrivals", "days"]
WeekDays = Mapping[int, Mapping[date, Sequence[tuple[float, int]]]]


@dataclass(frozen=True, slots=True)
class StageSpec:
    position: int
    station: str
    slug: str = ""
    target_conversion: float | None = None
    target_days: float | None = None


class VerdictKind(StrEnum):
    BOTTLENECK = "bottleneck"
    NO_CLEAR_BOTTLENECK = "no_clear_bottleneck"
    NOT_ENOUGH_DATA = "not_enough_data"


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
class FlowNote:
    """Flow of a stage, reported beside the yield: slow when its median exceeds its target."""

    stage_position: int
    station: str
    median_days: float | None
    p85_days: float | None
    target_days: float | None
    slow: bool
    wip: int
    aged_wip: int | None


@dataclass(frozen=True, slots=True)
class BottleneckVerdict:
    kind: VerdictKind
    stage_position: int | None  # None for the market's arrivals and for no verdict
    station: str | None
    gap: float | None
    reason: str
    won_per_week: float
    decided_recent: int  # deals closed (won or lost) in the recent window
    recent_from: date
    recent_to: date  # exclusive
    history_weeks: int
    contenders: tuple[YieldGap, ...]
    flow: tuple[FlowNote, ...]
    metric: Metric | None = None  # what the bottleneck falls short on
    tested: int = 0  # contenders whose shortfall was tested; the 5 % is shared among them
    edge: str = ""  # why the judged weeks end before the as-of week, when they do


def _gap(
    won_per_week: float, current: float | None, target: float | None, metric: Metric
) -> float | None:
    if current is None or target is None:
        return None
    if metric == "days":
        return won_per_week * (current / target - 1) if target > 0 else None
    if current == 0:
        return math.inf if target > 0 else 0.0
    return won_per_week * (target / current - 1)


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


def _warm_up_weeks(days: Sequence[tuple[float, int]]) -> int:
    """Weeks at the start of a log before a stage's exits stop favouring its quick outcomes:
    the first (partial) week, and the stage's 85th percentile of days in stage after it."""
    p85 = days_in_stage_counts(days).p85
    return 1 + (math.ceil(p85 / 7) if p85 else 0)


def _stage_starts(stage_weeks: Sequence[StageWeek], week_days: WeekDays | None) -> dict[int, date]:
    """Per stage, the first week its figures count from: after the log's warm-up from the
    stage's first entry (when its days are known), and not before its first decision (an
    export whose closes start later than its entries)."""
    first_entry: dict[int, date] = {}
    first_decision: dict[int, date] = {}
    for r in stage_weeks:
        if r.entered and r.week_start < first_entry.get(r.stage_position, date.max):
            first_entry[r.stage_position] = r.week_start
        if r.decided and r.week_start < first_decision.get(r.stage_position, date.max):
            first_decision[r.stage_position] = r.week_start
    starts = {}
    for position, entered in first_entry.items():
        days = [c for cells in (week_days or {}).get(position, {}).values() for c in cells]
        warm_end = entered + timedelta(weeks=_warm_up_weeks(days))
        starts[position] = max(warm_end, first_decision.get(position, warm_end))
    return starts


def judged_end(stages: Sequence[StageSpec], stage_weeks: Sequence[StageWeek], as_of: date) -> date:
    """The week the verdict as of ``as_of`` judges up to (exclusive): the flow beside it must
    cover the same weeks."""
    ordered = sorted(stages, key=lambda s: s.position)
    return _data_end(stage_weeks, ordered, week_start(as_of))[0]


def _data_end(
    stage_weeks: Sequence[StageWeek], ordered: Sequence[StageSpec], end: date
) -> tuple[date, str]:
    """The week the judged weeks end before, and why when it is earlier than ``end``.

    New deals are what every later figure lives on: after the last week with any, an export
    filtered by creation date only drains earlier deals, which reads as a market collapse and
    as slow, lossy stages. That week itself may be partial (an export that stops mid-week)."""
    first = ordered[0].position if ordered else None
    arrivals = [r.week_start for r in stage_weeks if r.stage_position == first and r.entered]
    newest = max((w for w in arrivals if w <= end), default=None)
    if newest is None or newest >= end:
        return end, ""
    later = [r.week_start for r in stage_weeks if (r.entered or r.decided) and r.week_start <= end]
    if max(later, default=newest) > newest:
        return newest, (
            f"No new deals after the week of {newest:%-d %b %Y}: the weeks after it only close "
            "earlier deals, so the verdict judges the complete weeks before it."
        )
    return newest, (
        f"Nothing arrived after the week of {newest:%-d %b %Y}, which may be partial (an export "
        "that stops mid-week): the verdict judges the complete weeks before it."
    )


def data_horizon(
    stage_weeks: Sequence[StageWeek], *, today: date, quiet_weeks: int = 1
) -> date | None:
    """The week a team's data stops, once it has stopped: the start of the week of its newest
    entry or decision, when nothing happened in the current week nor the ``quiet_weeks``
    complete weeks before it (an imported history, an export). None while data arrives.

    A history is judged as of that week's start: its own week may be partial (an export that
    stops mid-week), and the empty weeks after it are the export's edge, not the market's."""
    active = [r.week_start for r in stage_weeks if r.entered or r.advanced or r.lost]
    if not active:
        return None
    newest = max(active)
    if newest >= week_start(today) - timedelta(weeks=quiet_weeks):
        return None
    return newest


def bottleneck_verdict(
    *,
    stages: Sequence[StageSpec],
    stage_weeks: Sequence[StageWeek],
    as_of: date,
    target_arrivals_per_week: float | None = None,
    flows: Sequence[StageFlow] = (),
    week_days: WeekDays | None = None,
    settings: VerdictSettings = VerdictSettings(),  # noqa: B008 (frozen, safe to share)
) -> BottleneckVerdict:
    """Which stage limits the team's wins, with the arithmetic that says so.

    The recent window is the ``recent_weeks`` complete weeks before the week of ``as_of``; the
    year is the ``capability_weeks`` complete weeks before it, cut to where the data begins.
    When nothing happened in the week of ``as_of``, the data has stopped (an export): its last
    week may be partial, so the weeks judged end before it. Won deals are the deals that
    advanced from the last stage. ``week_days`` maps a stage's position to its weekly
    histograms of days in stage, ``{week start: [(days, deals), ...]}``, of the deals that left
    it that week (the StageFlow cells); with them, days in stage compete as flow contenders.
    """
    cfg = settings
    ordered = sorted(stages, key=lambda s: s.position)
    end = week_start(as_of)
    active = [r.week_start for r in stage_weeks if r.entered or r.decided]
    end, edge = _data_end(stage_weeks, ordered, end)
    first_data = min(active, default=end)
    start = max(end - timedelta(weeks=cfg.capability_weeks), week_start(first_data))
    weeks = [start + timedelta(weeks=i) for i in range(max(0, (end - start).days // 7))]
    recent = cfg.recent_weeks
    series: dict[int, StageSeries] = {
        s.position: stage_series(stage_weeks, stage_position=s.position, weeks=weeks)
        for s in ordered
    }
    tail = slice(max(0, len(weeks) - recent), None)
    won = sum(series[ordered[-1].position].advanced[tail]) if ordered else 0
    lost = sum(sum(s.lost[tail]) for s in series.values())
    won_per_week = won / recent

    def verdict(kind, reason, contenders=(), winner=None) -> BottleneckVerdict:
        tested = sum(c.p_value is not None for c in contenders)
        return BottleneckVerdict(
            kind=kind,
            stage_position=winner.stage_position if winner else None,
            station=winner.station if winner else None,
            gap=winner.gap if winner else None,
            reason=reason,
            won_per_week=won_per_week,
            decided_recent=won + lost,
            recent_from=end - timedelta(weeks=recent),
            recent_to=end,
            history_weeks=len(weeks),
            contenders=tuple(contenders),
            flow=tuple(_flow_note(f, ordered) for f in flows),
            metric=winner.metric if winner else None,
            tested=tested,
            edge=edge,
        )

    if not ordered or len(weeks) < recent:
        reason = f"{len(weeks)} complete weeks of data; {recent} are needed."
        return verdict(VerdictKind.NOT_ENOUGH_DATA, reason)
    if won + lost < cfg.min_decided:
        reason = f"{won + lost} deals closed in the last {recent} weeks; {cfg.min_decided} needed."
        return verdict(VerdictKind.NOT_ENOUGH_DATA, reason)

    starts = _stage_starts(stage_weeks, week_days)
    log_starts_here = week_start(first_data) == start
    contenders = [
        _arrivals_contender(
            series[ordered[0].position].entered,
            weeks,
            1 if log_starts_here else 0,
            target_arrivals_per_week,
            cfg,
        )
    ]
    slower = []
    for stage in ordered:
        cells = _stage_days(week_days, stage.position, weeks)
        first = starts.get(stage.position)
        skip = max(0, (first - start).days // 7) if first else 0
        contenders.append(_conversion_contender(stage, series[stage.position], weeks, skip, cfg))
        if week_days is not None:
            never_lost = not any(series[stage.position].lost)
            slower.append(_days_contender(stage, cells, weeks, skip, cfg, never_lost))
    contenders += slower  # arrivals, the conversions, then the days in stage
    tested = [c for c in contenders if c.p_value is not None]
    threshold = (1 - cfg.family_confidence) / max(1, len(tested))
    contenders = [_judged(c, threshold, won_per_week) for c in contenders]

    signals = [c for c in contenders if c.signal and c.gap is not None and c.gap > 0]
    if not signals:
        reason = "No stage falls short of its target by more than routine variation."
        return verdict(VerdictKind.NO_CLEAR_BOTTLENECK, reason, contenders)
    # Ties go to the earlier stage (the market's arrivals first): fix the intake first.
    winner = max(signals, key=lambda c: (c.gap, -(c.stage_position or 0)))
    where = "arrivals" if winner.metric == "arrivals" else f"stage {winner.stage_position}"
    what = {"arrivals": "arrivals", "conversion": "conversion", "days": "days in stage"}
    reason = (
        f"{where} ({winner.station}) {what[winner.metric]} at target would add "
        f"{winner.gap:.2f} won deals per week; chance alone falls this short with p = "
        f"{winner.p_value:.4f} (a signal below {threshold:.4f})."
    )
    return verdict(VerdictKind.BOTTLENECK, reason, contenders, winner)


def _stage_days(
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


def _arrivals_contender(
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


def _conversion_contender(
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


def _days_contender(
    stage: StageSpec,
    cells: Sequence[Sequence[tuple[float, int]]],
    weeks: Sequence[date],
    skip: int,
    cfg: VerdictSettings,
    never_lost: bool = False,
) -> YieldGap:
    # StageFlow keeps whole days, floored: a deal counted as d days spent d to d + 1, so its
    # mean is d + 1/2 (and a stage of same-day moves is not 0 days against 0).
    used = [[(d + 0.5, c) for d, c in week] for week in cells[skip:]]
    total = np.array([sum(d * c for d, c in week) for week in used], dtype=float)
    left = np.array([sum(c for _, c in week) for week in used], dtype=float)
    squares = float(sum(d * d * c for week in used for d, c in week))
    recent = cfg.recent_weeks
    capability = capability_test(
        WeeklySeries(total, left, higher_is_better=False),
        kind="days",
        window=recent,
        min_size=cfg.min_window_decided,
        baseline_weeks=max(0, total.size - recent),
        squares=squares,
    )
    recent_cells = [c for week in used[-recent:] for c in week]
    n = int(sum(c for _, c in recent_cells))
    mean = low = high = None
    if n:
        mean = sum(d * c for d, c in recent_cells) / n
        var = sum(c * (d - mean) ** 2 for d, c in recent_cells) / max(1, n - 1)
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


def _judged(c: YieldGap, threshold: float, won_per_week: float) -> YieldGap:
    higher = c.metric != "days"
    shortfall = (
        c.current is not None
        and c.target is not None
        and (c.current < c.target if higher else c.current > c.target)
    )
    signal = shortfall and c.p_value is not None and c.p_value < threshold
    return replace(
        c,
        gap=_gap(won_per_week, c.current, c.target, c.metric),
        shortfall=shortfall,
        signal=signal,
        signal_by=(BEYOND_CHANCE,) if signal else (),
        threshold=threshold,
    )


def _flow_note(flow: StageFlow, stages: Sequence[StageSpec]) -> FlowNote:
    spec = next((s for s in stages if s.position == flow.stage_position), None)
    target = flow.target_days
    if target is None and spec is not None:
        target = spec.target_days
    median = flow.days.median
    return FlowNote(
        stage_position=flow.stage_position,
        station=spec.station if spec else "",
        median_days=median,
        p85_days=flow.days.p85,
        target_days=target,
        slow=median is not None and target is not None and median > target,
        wip=flow.wip,
        aged_wip=flow.aged_wip,
    )
