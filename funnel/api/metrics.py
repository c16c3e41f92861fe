"""Read endpoints for what the recompute produced: the bottleneck verdict and weekly metrics.

Both take an analysis period: `as_of` (default: the team's data horizon, i.e. today while
its data arrives, the end of its data once it stopped) and a window. They read snapshots
(BottleneckStatus, StageMetric); a verdict the live snapshot does not hold is computed on
request from the weekly aggregates (StageFlow), never from the raw event log. An `as_of` in
the future is refused (422), as are a malformed date and a window other than 13, 26 or 52.
"""

from __future__ import annotations

import datetime as dt
import re

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from pydantic import field_validator

from funnel.api.errors import query_only
from funnel.api.schemas import ANY_ERRORS, ErrorOut
from funnel.bounds import TOO_EARLY, too_early
from funnel.metrics.accounting import week_start
from funnel.metrics.intervals import CONFIDENCE
from funnel.models import StageMetric
from funnel.periods import WINDOWS, Period, horizon_from_figures, period_resolve
from funnel.pipeline.as_of import team_status_for_period
from funnel.selectors import team_status_latest

router = Router(tags=["metrics"])


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
AS_OF = (
    "The date the analysis is as of, YYYY-MM-DD; only the complete weeks before the week of "
    "this date count. Default: the team's data horizon (today while its data arrives; for a "
    "team whose data stopped, the start of the week its data stops in). Not in the future."
)


class TeamQuery(Schema):
    team: str = Field(..., description="The team's slug; must be the token's team.")
    as_of: dt.date | None = Field(None, description=AS_OF, examples=["2012-02-29"])

    @field_validator("as_of", mode="before")
    @classmethod
    def _iso_date_only(cls, value):
        if value is not None and not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
            raise ValueError("Give as_of as a date written YYYY-MM-DD, e.g. 2012-02-29.")
        return value

    @field_validator("as_of")
    @classmethod
    def _not_in_future(cls, value):
        if value is not None and too_early(value):
            raise ValueError(f"as_of {value.isoformat()}: {TOO_EARLY}")
        if value is not None and value > timezone.localdate():
            raise ValueError(
                f"as_of {value.isoformat()} is in the future; the latest is today, "
                f"{timezone.localdate().isoformat()}."
            )
        return value


class BottleneckQuery(TeamQuery):
    window: int = Field(
        13,
        description="Weeks the verdict judges: 13, 26 or 52 (its target looks back over "
        "the larger of 52 weeks and twice the window).",
    )

    @field_validator("window")
    @classmethod
    def _known_window(cls, value):
        if value not in WINDOWS:
            raise ValueError("window must be 13, 26 or 52.")
        return value


class FunnelQuery(TeamQuery):
    weeks: int = Field(
        13, ge=1, le=104, description="Complete weeks to return before the week of as_of."
    )
    window: int | None = Field(
        None,
        ge=1,
        le=104,
        description="The same as weeks, under the name the pages and /bottleneck use; "
        "when both are given, window counts.",
    )


class PeriodOut(Schema):
    as_of: dt.date = Field(..., description="The as-of date used (the default when not given).")
    recent_from: dt.date = Field(..., description="First day of the weeks judged or returned.")
    recent_to: dt.date = Field(..., description="Day after the last one (exclusive).")
    history_up_to: dt.date | None = Field(
        None,
        description="Set when the default applied to a team whose data stopped: the last "
        "day of its data's complete weeks.",
    )


class BottleneckOut(PeriodOut):
    team: str
    window: int = Field(..., description="Weeks the verdict judged.")
    verdict: str = Field(..., description="bottleneck, no_clear_bottleneck or not_enough_data")
    stage: str | None = Field(None, description="Slug of the constraining stage, if any.")
    station: str | None = None
    metric: str | None = Field(
        None, description="What the bottleneck falls short on: conversion, arrivals or days."
    )
    confidence: float = Field(..., description="Level of every interval shown, e.g. 0.95.")
    gap_per_week: float | None = Field(
        None, description="Won deals a week gained if the stage reached its target."
    )
    reason: str
    won_per_week: float | None = None
    stages: list[dict] = Field(
        ...,
        description="Per contender (arrivals, each stage's conversion, each stage's days in "
        "stage): current value, interval, n, target and its source, gap, p_value and the "
        "threshold below which it is a signal.",
    )
    flow: list[dict] = Field(..., description="Per stage: days in stage, WIP, aged WIP.")
    computed_at: dt.datetime
    watermark: int = Field(..., description="Id of the last stage event the verdict includes.")


class WeekOut(Schema):
    week: dt.date
    entered: int
    advanced: int
    lost: int
    conversion: float | None
    conversion_low: float | None
    conversion_high: float | None
    days_median: float | None
    days_p85: float | None


class StageWeeksOut(Schema):
    stage: str
    name: str
    station: str
    position: int
    weeks: list[WeekOut]


class FunnelOut(PeriodOut):
    team: str
    weeks: list[dt.date]
    stages: list[StageWeeksOut]


def _team(request: HttpRequest, slug: str):
    team = request.auth.team
    if team.slug != slug:
        raise Http404("No such team.")
    return team


def _period(team, query: TeamQuery, window: int) -> tuple[Period, object]:
    latest = team_status_latest(team=team)
    horizon = horizon_from_figures(latest.figures) if latest else None
    period = period_resolve(
        as_of=query.as_of, window=window, today=timezone.localdate(), horizon=horizon
    )
    return period, latest


@router.get(
    "/bottleneck",
    response={200: BottleneckOut, 404: ErrorOut, 422: ErrorOut, **ANY_ERRORS},
    summary="The team's bottleneck verdict as of a date, with the arithmetic behind it",
    description="Without as_of and with the default window this is the live verdict the "
    "last recompute stored; any other period is computed on request from the weekly counts. "
    "For a past as_of, each stage's WIP comes from the weekly counts and aged_wip is null "
    "(how long each open deal had waited then is not kept).",
)
@decorate_view(query_only(BottleneckQuery))
def bottleneck_get(request: HttpRequest, query: Query[BottleneckQuery]):
    team = _team(request, query.team)
    period, latest = _period(team, query, query.window)
    status = team_status_for_period(team=team, latest=latest, period=period)
    if status is None:
        raise Http404("Nothing computed for this team yet.")
    figures = status.figures or {}
    return {
        "team": team.slug,
        "as_of": period.as_of,
        "window": period.verdict_weeks,
        "recent_from": figures.get("recent_from"),
        "recent_to": figures.get("recent_to"),
        "history_up_to": figures.get("history_up_to"),
        "verdict": status.verdict,
        "stage": status.stage.slug if status.stage else None,
        "station": status.station or None,
        "metric": figures.get("metric"),
        "confidence": figures.get("confidence", CONFIDENCE),
        "gap_per_week": status.gap_per_week,
        "reason": figures.get("reason", ""),
        "won_per_week": figures.get("won_per_week"),
        "stages": figures.get("contenders", []),
        "flow": figures.get("flow", []),
        "computed_at": status.computed_at,
        "watermark": status.watermark,
    }


@router.get(
    "/funnel",
    response={200: FunnelOut, 404: ErrorOut, 422: ErrorOut, **ANY_ERRORS},
    summary="Per-stage weekly metrics (entered, advanced, lost, conversion with its interval)",
    description="The `weeks` complete weeks before the week of as_of (default: the team's "
    "data horizon), oldest first.",
)
@decorate_view(query_only(FunnelQuery))
def funnel_get(request: HttpRequest, query: Query[FunnelQuery]):
    team = _team(request, query.team)
    count = query.window or query.weeks
    period, _ = _period(team, query, count)
    end = week_start(period.as_of)
    weeks = [end - dt.timedelta(weeks=count - i) for i in range(count)]
    rows = (
        StageMetric.objects.filter(team=team, week__gte=weeks[0], week__lt=end)
        .select_related("stage")
        .order_by("position", "week")
    )
    by_stage: dict[int, dict] = {}
    for stage in team.stages.in_funnel().order_by("position"):
        by_stage[stage.id] = {
            "stage": stage.slug,
            "name": stage.name,
            "station": stage.station,
            "position": stage.position,
            "weeks": {w: _empty_week(w) for w in weeks},
        }
    for row in rows:
        if row.stage_id in by_stage:
            by_stage[row.stage_id]["weeks"][row.week] = row
    return {
        "team": team.slug,
        "as_of": period.as_of,
        "recent_from": weeks[0],
        "recent_to": end,
        "history_up_to": period.history_up_to,
        "weeks": weeks,
        "stages": [{**s, "weeks": list(s["weeks"].values())} for s in by_stage.values()],
    }


def _empty_week(week: dt.date) -> dict:
    return {
        "week": week,
        "entered": 0,
        "advanced": 0,
        "lost": 0,
        "conversion": None,
        "conversion_low": None,
        "conversion_high": None,
        "days_median": None,
        "days_p85": None,
    }
