"""The verdict and its figures as of a date, over a window, from the weekly aggregates.

One computation serves the live recompute (as of now, or of a stopped team's data horizon;
funnel.pipeline.run stores it as the BottleneckStatus snapshot) and every other as-of date or
window a page or the API asks for, computed on request. Both read StageFlow only (the weekly
entered, advanced and lost counts with their days-in-stage histograms), never the event log
nor the deals one by one. What the aggregates cannot say is said: open deals' ages at a past
date are not kept, so a past as-of shows the WIP (entered - advanced - lost up to then) and no
aged WIP.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum

from funnel.metrics.accounting import StageWeek, week_start
from funnel.metrics.flow import stage_flow
from funnel.metrics.verdict import (
    BottleneckVerdict,
    StageSpec,
    VerdictSettings,
    bottleneck_verdict,
    judged_end,
    verdict_with_flows,
)
from funnel.models import BottleneckStatus, FlowKind, Stage, StageFlow, Team, Verdict
from funnel.periods import DEFAULT_WINDOW, Period
from funnel.pipeline.figures import SETTINGS, verdict_figures

logger = logging.getLogger(__name__)

# {stage id: {week start: [(days in stage, deals), ...]}} of the deals that left a stage
LeftDays = dict[int, dict[dt.date, list[tuple[int, int]]]]
CACHE_SECONDS = 3600
HISTOGRAM_SPARE_WEEKS = 8  # read a little more than the capability span


def verdict_settings(window: int | None) -> VerdictSettings:
    """The verdict's settings for a window of weeks; None ("all") keeps the default window."""
    weeks = window or DEFAULT_WINDOW
    if weeks == SETTINGS.recent_weeks:
        return SETTINGS
    return replace(
        SETTINGS, recent_weeks=weeks, capability_weeks=max(SETTINGS.capability_weeks, 2 * weeks)
    )


def stage_weeks_read(
    team: Team, stages: Sequence[Stage], *, before: dt.date | None = None
) -> list[StageWeek]:
    """The team's weekly entered, advanced and lost counts per stage (weeks before `before`)."""
    position = {s.id: s.position for s in stages}
    cells: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0, 0, 0])
    slot = {FlowKind.ENTERED: 0, FlowKind.ADVANCED: 1, FlowKind.LOST: 2}
    rows = StageFlow.objects.filter(team=team)
    if before is not None:
        rows = rows.filter(week__lt=before)
    rows = rows.values_list("stage_id", "week", "kind").order_by().annotate(total=Sum("count"))
    for stage_id, week, kind, total in rows:
        if stage_id in position:
            cells[position[stage_id], week][slot[kind]] += total
    return [StageWeek(p, w, *counts) for (p, w), counts in sorted(cells.items())]


def left_days_read(team: Team, *, since: dt.date, before: dt.date | None = None) -> LeftDays:
    """Days in stage of the deals that left each stage, by week, in [since, before), as
    (days, how many deals) histograms."""
    kinds = [FlowKind.ADVANCED, FlowKind.LOST]
    if connection.vendor == "postgresql":
        return _left_days_arrays(team, since, before, kinds)
    return _left_days_rows(team, since, before, kinds)


def _left_days_rows(
    team: Team, since: dt.date, before: dt.date | None, kinds: list[str]
) -> LeftDays:
    hist: LeftDays = defaultdict(lambda: defaultdict(list))
    rows = StageFlow.objects.filter(team=team, week__gte=since, kind__in=kinds, days__gte=0)
    if before is not None:
        rows = rows.filter(week__lt=before)
    for stage_id, week, days, count in rows.values_list("stage_id", "week", "days", "count"):
        hist[stage_id][week].append((days, count))
    return hist


def _left_days_arrays(
    team: Team, since: dt.date, before: dt.date | None, kinds: list[str]
) -> LeftDays:
    """Tens of thousands of cells at a million deals: one row per stage and week, with its
    histogram as two arrays, instead of one Python row per cell."""
    hist: LeftDays = defaultdict(lambda: defaultdict(list))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stage_id, week, array_agg(days), array_agg(count) "
            f"FROM {StageFlow._meta.db_table} WHERE team_id = %s AND week >= %s "
            "AND week < %s AND kind = ANY(%s) AND days >= 0 GROUP BY stage_id, week",
            [team.id, since, before or dt.date.max, kinds],
        )
        for stage_id, week, days, counts in cursor.fetchall():
            hist[stage_id][week] = list(zip(days, counts, strict=True))
    return hist


def histogram_since(as_of: dt.date, window: int | None) -> dt.date:
    """The first week whose histograms the verdict as of `as_of` may use."""
    weeks = verdict_settings(window).capability_weeks + HISTOGRAM_SPARE_WEEKS
    return week_start(as_of) - dt.timedelta(weeks=weeks)


def wip_from_counts(stage_weeks: Sequence[StageWeek], end: dt.date) -> dict[int, int]:
    """Open deals per stage position at the start of the week `end`: every deal that entered
    a stage before then and had neither advanced nor been lost in it."""
    wip: dict[int, int] = defaultdict(int)
    for row in stage_weeks:
        if row.week_start < end:
            wip[row.stage_position] += row.entered - row.advanced - row.lost
    return {position: max(0, n) for position, n in wip.items()}


def stage_specs(stages: Sequence[Stage]) -> list[StageSpec]:
    return [
        StageSpec(
            position=s.position,
            station=s.station,
            slug=s.slug,
            target_conversion=float(s.target_conversion) if s.target_conversion else None,
            target_days=s.target_days,
        )
        for s in stages
    ]


def _cells(weeks: Mapping[dt.date, list], start: dt.date, end: dt.date) -> np.ndarray:
    cells = [cell for week, cs in weeks.items() if start <= week < end for cell in cs]
    return np.repeat([d for d, _ in cells], [c for _, c in cells]).astype(float)


def verdict_as_of(
    *,
    stages: Sequence[Stage],
    stage_weeks: Sequence[StageWeek],
    left: LeftDays,
    as_of: dt.date,
    window: int | None = DEFAULT_WINDOW,
    open_ages: Mapping[int, np.ndarray] | None = None,
    contenders: BottleneckVerdict | None = None,
) -> tuple[BottleneckVerdict, dict]:
    """The verdict as of `as_of` over `window` weeks (None: all the data, judged over the
    default window), with its figures as stored JSON.

    Only the complete weeks before the week of `as_of` count, for the counts, the days in
    stage and the WIP alike. `open_ages` (days each open deal has waited, by stage id) gives
    the aged WIP; without it (a past date) the WIP comes from the weekly counts and the aged
    WIP is unknown. `contenders`: the verdict of a run whose inputs differed from these only
    in the week of `as_of`, not in which stages had entries or decisions in it (see
    `contenders_basis`): its contenders stand, only the flows are new.
    """
    settings = verdict_settings(window)
    end = week_start(as_of)
    since = histogram_since(as_of, window)
    # The flow covers the weeks the verdict judges, which end earlier when new deals stopped.
    flow_end = judged_end(
        stage_specs(stages), [r for r in stage_weeks if r.week_start <= end], as_of
    )
    recent_from = flow_end - dt.timedelta(weeks=settings.recent_weeks)
    wip = wip_from_counts(stage_weeks, end) if open_ages is None else {}
    flows = []
    for stage in stages:
        weeks = left.get(stage.id, {})
        if open_ages is not None:
            flows.append(
                stage_flow(
                    stage_position=stage.position,
                    left_days=_cells(weeks, recent_from, flow_end),
                    open_age_days=open_ages.get(stage.id, []),
                    target_days=stage.target_days,
                )
            )
            continue
        flow = stage_flow(
            stage_position=stage.position,
            left_days=_cells(weeks, recent_from, flow_end),
            open_age_days=[],
            target_days=stage.target_days,
        )
        flows.append(replace(flow, wip=wip.get(stage.position, 0), aged_wip=None))
    if contenders is not None:
        verdict = verdict_with_flows(contenders, stage_specs(stages), flows)
        return verdict, _figures(verdict, stages, as_of, window, open_ages)
    verdict = bottleneck_verdict(
        stages=stage_specs(stages),
        # The week of `as_of` too: the verdict judges complete weeks only, but whether
        # anything happened in that week tells a history that stopped from one that goes on.
        stage_weeks=[r for r in stage_weeks if r.week_start <= end],
        as_of=end,
        flows=flows,
        week_days={
            s.position: {w: c for w, c in left.get(s.id, {}).items() if since <= w < end}
            for s in stages
        },
        settings=settings,
    )
    return verdict, _figures(verdict, stages, as_of, window, open_ages)


def _figures(verdict, stages, as_of, window, open_ages) -> dict:
    return verdict_figures(verdict, stages) | {
        "as_of": as_of.isoformat(),
        "window": window or "all",
        "aged_wip_known": open_ages is not None,
    }


def contenders_basis(stages: Sequence[Stage], stage_weeks: Sequence[StageWeek], end: dt.date):
    """What bottleneck_verdict reads of its inputs besides the complete weeks before `end`:
    the stages' specs, `end`, and which stages had entries and decisions in the week of `end`
    (whether the data goes on), never its counts. Equal bases and no complete week changed:
    equal contenders."""
    current = tuple(
        (r.stage_position, bool(r.entered), bool(r.decided))
        for r in stage_weeks
        if r.week_start == end
    )
    return end, tuple(stage_specs(stages)), current


def status_values(*, stages: Sequence[Stage], figures: dict) -> dict:
    """The BottleneckStatus fields a verdict's figures decide."""
    stage = next((s for s in stages if s.position == figures.get("stage_position")), None)
    gap = figures.get("gap")
    return {
        "verdict": Verdict(str(figures["kind"])),
        "stage": stage,
        "station": figures.get("station") or "",
        "gap_per_week": gap if isinstance(gap, int | float) else None,
        "figures": figures,
    }


@dataclass(frozen=True)
class TeamAggregates:
    """A team's weekly counts and days-in-stage histograms, all weeks."""

    stage_weeks: list[StageWeek]
    left: LeftDays


# Per process, the latest few teams' aggregates by the version of their snapshots: the
# aggregates only change when a recompute finishes, and every as-of date of a team reads the
# same rows. Bounded, so a process holds at most a few megabytes.
_AGGREGATES: OrderedDict[tuple[int, str], TeamAggregates] = OrderedDict()
AGGREGATES_KEPT = 16


def team_aggregates(*, team: Team, stages: Sequence[Stage], version: str) -> TeamAggregates:
    key = (team.id, version)
    found = _AGGREGATES.get(key)
    if found is not None:
        _AGGREGATES.move_to_end(key)
        return found
    aggregates = TeamAggregates(
        stage_weeks=stage_weeks_read(team, stages), left=left_days_read(team, since=dt.date.min)
    )
    _AGGREGATES[key] = aggregates
    while len(_AGGREGATES) > AGGREGATES_KEPT:
        _AGGREGATES.popitem(last=False)
    return aggregates


def team_aggregates_forget() -> None:
    _AGGREGATES.clear()


def team_figures_as_of(
    *, team: Team, stages: Sequence[Stage], as_of: dt.date, window: int | None, version: str
) -> dict:
    """The verdict's figures for any as-of date and window, computed on request from StageFlow
    and cached per (team, version of its aggregates, week, window): the figures depend on the
    week of `as_of` only, so a week's dates share one computation."""
    end = week_start(as_of)
    key = f"as-of:{team.id}:{version}:{end.isoformat()}:{window or 'all'}"
    figures = cache.get(key)
    if figures is not None:
        return figures | {"as_of": as_of.isoformat()}
    started = time.perf_counter()
    aggregates = team_aggregates(team=team, stages=stages, version=version)
    _, figures = verdict_as_of(
        stages=stages,
        stage_weeks=aggregates.stage_weeks,
        left=aggregates.left,
        as_of=as_of,
        window=window,
    )
    cache.set(key, figures, CACHE_SECONDS)
    logger.info(
        "as-of verdict team=%s as_of=%s window=%s in %.0f ms",
        team.slug,
        end,
        window or "all",
        (time.perf_counter() - started) * 1000,
    )
    return figures


def status_as_of(
    *, team: Team, stages: Sequence[Stage], figures: dict, latest: BottleneckStatus | None
) -> BottleneckStatus:
    """An unsaved status for the pages and the API: the verdict as of another date, with the
    watermark and time of the latest recompute (the aggregates it was computed from)."""
    return BottleneckStatus(
        team=team,
        watermark=latest.watermark if latest else 0,
        computed_at=latest.computed_at if latest else None,
        **status_values(stages=stages, figures=figures),
    )


def status_version(status: BottleneckStatus | None) -> str:
    """Changes whenever a recompute finishes: what an as-of computation is cached under."""
    if status is None:
        return "none"
    return f"{status.id}-{status.watermark}-{status.computed_at.timestamp():.6f}"


def snapshot_holds(status: BottleneckStatus | None, period: Period) -> bool:
    """Whether the live snapshot is the verdict of this period: the default window over the
    same weeks (the verdict depends on the week of its as-of date only)."""
    if status is None or period.window != DEFAULT_WINDOW:
        return False
    return (status.figures or {}).get("recent_to") == period.end.isoformat()


def team_status_for_period(
    *, team: Team, latest: BottleneckStatus | None, period: Period
) -> BottleneckStatus | None:
    """The snapshot where it holds, else the verdict computed on request from the weekly
    aggregates (cached); None when nothing was ever computed for the team."""
    if latest is None or snapshot_holds(latest, period):
        return latest
    stages = list(Stage.objects.filter(team=team).in_funnel().order_by("position"))
    figures = team_figures_as_of(
        team=team,
        stages=stages,
        as_of=period.as_of,
        window=period.window,
        version=status_version(latest),
    )
    up_to = period.history_up_to
    figures = figures | {"history_up_to": up_to.isoformat() if up_to else None}
    return status_as_of(team=team, stages=stages, figures=figures, latest=latest)
