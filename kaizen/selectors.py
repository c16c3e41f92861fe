"""Reads for PDCA cycles. Access is checked in the views through funnel.selectors
(team_get_for_user); everything here is already scoped to one team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from funnel.metrics.accounting import week_start
from funnel.models import (
    Stage,
    StageMetric,
    Station,
    Tactic,
    Team,
)
from funnel.selectors import team_status_latest
from funnel.touches.selectors import tactic_weekly_counts
from kaizen.check import Baseline, WeekCount, baseline_capture
from kaizen.check_tactic import tactic_week
from kaizen.models import Cycle, CycleMetric, Phase
from kaizen.problem import baseline_sentence, tactic_baseline_sentence

BASELINE_WEEKS = 13


# --- cycles -----------------------------------------------------------------------------------


def cycles_for_team(
    *, team: Team, owner_id: int | None = None, stage_id: int | None = None, phase: str = ""
) -> QuerySet[Cycle]:
    cycles = Cycle.objects.filter(team=team).select_related("owner", "stage", "tactic")
    if owner_id:
        cycles = cycles.filter(owner_id=owner_id)
    if stage_id:
        cycles = cycles.filter(stage_id=stage_id)
    if phase:
        cycles = cycles.filter(phase=phase)
    return cycles.order_by("-updated_at", "-id")


def cycle_get(*, team: Team, cycle_id: int) -> Cycle:
    cycle = (
        Cycle.objects.select_related(
            "owner", "stage", "tactic", "comparison_team", "follow_up", "team"
        )
        .filter(team=team, id=cycle_id)
        .first()
    )
    if cycle is None:
        raise Http404("No such cycle.")
    return cycle


def last_complete_week(today: dt.date) -> dt.date:
    return week_start(today) - dt.timedelta(weeks=1)


def metric_stage(*, team: Team, metric: str, stage: Stage | None) -> Stage | None:
    """The stage whose weekly figures make the metric: arrivals are entries to the first stage."""
    if metric == CycleMetric.ARRIVALS:
        return Stage.objects.filter(team=team).order_by("position").first()
    return stage


def comparison_stage(*, team: Team, stage: Stage | None, metric: str) -> Stage | None:
    """The comparison team's stage that matches ours: same slug, else same position."""
    if metric == CycleMetric.ARRIVALS or stage is None:
        return metric_stage(team=team, metric=metric, stage=None)
    return (
        Stage.objects.filter(team=team, slug=stage.slug).first()
        or Stage.objects.filter(team=team, position=stage.position).first()
    )


def week_counts(*, stage: Stage | None, first: dt.date, last: dt.date) -> list[WeekCount]:
    """Weekly counts of one stage from StageMetric snapshots, weeks `first`..`last` (Mondays,
    inclusive); a week without a row had no deals."""
    if stage is None or last < first:
        return []
    rows = {
        m.week: m
        for m in StageMetric.objects.filter(
            team_id=stage.team_id, stage=stage, week__gte=first, week__lte=last
        ).only("week", "entered", "advanced", "lost")
    }
    return [
        WeekCount(w, rows[w].entered, rows[w].advanced, rows[w].lost) if w in rows else WeekCount(w)
        for w in _weeks(first, last)
    ]


def _weeks(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def tactic_week_counts(
    *, tactic: Tactic | None, first: dt.date, last: dt.date, rule_at: dt.datetime | None = None
) -> list[WeekCount]:
    """Weekly touches and answers of one tactic, weeks `first`..`last` (Mondays, inclusive),
    answers counted by the tactic's response rule in force at `rule_at` (now if None; funnel's
    tactic_weekly_counts); a week without a touch is a zero week. As a WeekCount: entered =
    touches, advanced = answered, lost = not answered, so the proportion Check reads it like a
    conversion."""
    if tactic is None or last < first:
        return []
    rows = tactic_weekly_counts(
        tactic=tactic,
        since=_local_midnight(first),
        until=_local_midnight(last + dt.timedelta(weeks=1)),
        rule_at=rule_at,
    )
    by_week = {row.week: row for row in rows}
    return [
        tactic_week(w, by_week[w].touches, by_week[w].responses) if w in by_week else WeekCount(w)
        for w in _weeks(first, last)
    ]


def metric_week_counts(
    *,
    team: Team,
    metric: str,
    stage: Stage | None,
    tactic: Tactic | None,
    first: dt.date,
    last: dt.date,
    rule_at: dt.datetime | None = None,
) -> list[WeekCount]:
    """The weekly counts a cycle's metric is made of: a tactic's touches and answers (by its
    response rule in force at `rule_at`, now if None), entries to the first stage (arrivals)
    or a stage's decided deals (conversion)."""
    if metric == CycleMetric.RESPONSE_RATE:
        return tactic_week_counts(tactic=tactic, first=first, last=last, rule_at=rule_at)
    return week_counts(
        stage=metric_stage(team=team, metric=metric, stage=stage), first=first, last=last
    )


def cycle_do_weeks(*, cycle: Cycle, today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last Do week that the Check may use: complete weeks only."""
    first = week_start(cycle.do_start)
    last = min(week_start(cycle.do_end), last_complete_week(today))
    return first, last


def baseline_window(*, do_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """The 13 complete weeks before the Do start (before this week, if the Do starts later)."""
    end = min(week_start(do_start), week_start(today))
    return end - dt.timedelta(weeks=BASELINE_WEEKS), end - dt.timedelta(days=1)


DEFAULT_DO_WEEKS = 4


def default_do_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """A new cycle's Do window: from today to the end of the fourth week, this one included.
    Weekly metrics count whole weeks, so this week is the Do's first and the Check can run as
    soon as its evidence rules are met (two complete weeks at the earliest)."""
    return today, week_start(today) + dt.timedelta(weeks=DEFAULT_DO_WEEKS, days=-1)


def plan_baseline(
    *,
    team: Team,
    metric: str,
    stage: Stage | None,
    do_start: dt.date,
    today: dt.date,
    tactic: Tactic | None = None,
) -> tuple[Baseline, dt.date]:
    """The baseline a plan with this Do start would freeze if committed today, and its last day."""
    first, last = baseline_window(do_start=do_start, today=today)
    counts = metric_week_counts(
        team=team, metric=metric, stage=stage, tactic=tactic, first=first, last=week_start(last)
    )
    return baseline_capture(metric, counts), last


def plan_problem_sentence(
    *, team: Team, metric: str, stage: Stage | None, do_start: dt.date | None, today: dt.date
) -> str:
    """The problem's prefilled opening sentence for a Do start ("" without a stage or start;
    "" for a tactic's answer rate, whose sentence is not about a bottleneck)."""
    if do_start is None or (metric == CycleMetric.CONVERSION and stage is None):
        return ""
    if metric == CycleMetric.RESPONSE_RATE:
        return ""
    base, last = plan_baseline(
        team=team, metric=metric, stage=stage, do_start=do_start, today=today
    )
    where = stage.name if metric == CycleMetric.CONVERSION else "Arrivals"
    return baseline_sentence(where=where, metric=metric, base=base, last_day=last)


@dataclass(frozen=True)
class Prefill:
    values: dict
    source: str  # what the prefill came from, for the page to say


def cycle_prefill_from_bottleneck(*, team: Team, today: dt.date) -> Prefill | None:
    """Stage, station, metric and the current condition from the team's latest verdict."""
    status = team_status_latest(team=team)
    if status is None or status.verdict != "bottleneck":
        return None
    metric = CycleMetric.CONVERSION if status.stage_id else CycleMetric.ARRIVALS
    stage = metric_stage(team=team, metric=metric, stage=status.stage)
    where = status.stage.name if status.stage_id else "Arrivals"
    problem = plan_problem_sentence(
        team=team, metric=metric, stage=stage, do_start=today, today=today
    )
    if status.gap_per_week:
        problem += f" Closing the gap is worth about {status.gap_per_week:.2f} won deals a week."
    position = status.stage.position if status.stage_id else None
    short_on = status.figures.get("metric") or str(metric)
    contender = next(
        (
            c
            for c in status.figures.get("contenders", [])
            if (c.get("stage_position"), c.get("metric", short_on)) == (position, short_on)
        ),
        {},
    )
    target = contender.get("target")
    target_condition = ""
    if short_on == "days" and target is not None and contender.get("current") is not None:
        # Cycles measure conversion or arrivals; a flow bottleneck's days go in the words.
        problem += (
            f" Deals now spend {contender['current']:.1f} days in {where} on average; the "
            f"team has shown {target:.1f} days."
        )
        target_condition = f"Deals leave {where} in {target:.1f} days on average or less."
    elif target is not None:
        source = (
            "the manager's target"
            if contender.get("target_source") == "manager"
            else ("the team's demonstrated capability")
        )
        shown = f"{target * 100:.0f} %" if metric == CycleMetric.CONVERSION else f"{target:.1f}"
        verb = "converts" if metric == CycleMetric.CONVERSION else "brings"
        target_condition = f"{where} {verb} {shown} ({source})."
    do_start, do_end = default_do_window(today)
    values = {
        "title": f"Lift {where.lower()}{' conversion' if metric == CycleMetric.CONVERSION else ''}",
        "stage": status.stage_id,
        "metric": metric,
        "problem": problem,
        "target_condition": target_condition,
        "predicted_direction": "up",
        "do_start": do_start,
        "do_end": do_end,
    }
    station = Station(status.station).label if status.station in Station.values else ""
    return Prefill(values=values, source=f"bottleneck at {where} ({station} station)")


def cycle_prefill_from_tactic(*, team: Team, tactic_slug: str, today: dt.date) -> Prefill | None:
    """A plan to move one of the team's tactics' answer rate (the tactics page's "Test a
    change"), its problem quoting the rate of a Do window starting this week."""
    tactic = Tactic.objects.filter(team=team, slug=tactic_slug, is_active=True).first()
    if tactic is None:
        return None
    do_start, do_end = default_do_window(today)
    base, last = plan_baseline(
        team=team,
        metric=CycleMetric.RESPONSE_RATE,
        stage=None,
        tactic=tactic,
        do_start=do_start,
        today=today,
    )
    values = {
        "title": f"Lift the answer rate of {tactic.name}",
        "metric": CycleMetric.RESPONSE_RATE,
        "tactic": tactic.id,
        "problem": tactic_baseline_sentence(tactic=tactic.name, base=base, last_day=last),
        "predicted_direction": "up",
        "do_start": do_start,
        "do_end": do_end,
    }
    return Prefill(values=values, source=f"the answer rate of {tactic.name}")


PHASE_ORDER = [Phase.PLAN, Phase.DO, Phase.CHECK, Phase.ACT, Phase.CLOSED]
