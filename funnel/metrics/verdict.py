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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from funnel.metrics.accounting import StageSeries, StageWeek, stage_series, week_start
from funnel.metrics.contenders import (
    Metric,
    StageSpec,
    VerdictSettings,
    YieldGap,
    arrivals_contender,
    conversion_contender,
    days_contender,
    stage_days,
)
from funnel.metrics.edges import WeekDays, data_end, stage_starts
from funnel.metrics.flow import StageFlow

BEYOND_CHANCE = "beyond_chance"


class VerdictKind(StrEnum):
    BOTTLENECK = "bottleneck"
    NO_CLEAR_BOTTLENECK = "no_clear_bottleneck"
    NOT_ENOUGH_DATA = "not_enough_data"


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


def judged_end(stages: Sequence[StageSpec], stage_weeks: Sequence[StageWeek], as_of: date) -> date:
    """The week the verdict as of ``as_of`` judges up to (exclusive): the flow beside it must
    cover the same weeks."""
    ordered = sorted(stages, key=lambda s: s.position)
    first = ordered[0].position if ordered else None
    return data_end(stage_weeks, first, week_start(as_of))[0]


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
    end, edge = data_end(stage_weeks, ordered[0].position if ordered else None, end)
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

    starts = stage_starts(stage_weeks, week_days)
    log_starts_here = week_start(first_data) == start
    contenders = [
        arrivals_contender(
            series[ordered[0].position].entered,
            weeks,
            1 if log_starts_here else 0,
            target_arrivals_per_week,
            cfg,
        )
    ]
    slower = []
    for stage in ordered:
        cells = stage_days(week_days, stage.position, weeks)
        first = starts.get(stage.position)
        skip = max(0, (first - start).days // 7) if first else 0
        contenders.append(conversion_contender(stage, series[stage.position], weeks, skip, cfg))
        if week_days is not None:
            never_lost = not any(series[stage.position].lost)
            slower.append(days_contender(stage, cells, weeks, skip, cfg, never_lost))
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


def verdict_with_flows(
    verdict: BottleneckVerdict, stages: Sequence[StageSpec], flows: Sequence[StageFlow]
) -> BottleneckVerdict:
    """A verdict with other flows: what bottleneck_verdict gives for the same inputs with these
    flows (they only make its flow notes)."""
    ordered = sorted(stages, key=lambda s: s.position)
    return replace(verdict, flow=tuple(_flow_note(f, ordered) for f in flows))


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
