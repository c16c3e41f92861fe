"""Read endpoints for what the recompute produced: the bottleneck verdict and weekly metrics.

They read snapshots only (BottleneckStatus, StageMetric), never the raw event log.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from funnel.api.schemas import ErrorOut
from funnel.metrics.intervals import CONFIDENCE
from funnel.models import StageMetric
from funnel.selectors import team_status_latest

router = Router(tags=["metrics"])


class TeamQuery(Schema):
    team: str = Field(..., description="The team's slug; must be the token's team.")


class FunnelQuery(TeamQuery):
    weeks: int = Field(13, ge=1, le=104, description="Complete weeks to return, newest last.")


class BottleneckOut(Schema):
    team: str
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


class FunnelOut(Schema):
    team: str
    weeks: list[dt.date]
    stages: list[StageWeeksOut]


def _team(request: HttpRequest, slug: str):
    team = request.auth.team
    if team.slug != slug:
        raise Http404("No such team.")
    return team


@router.get(
    "/bottleneck",
    response={200: BottleneckOut, 404: ErrorOut},
    summary="The team's current bottleneck verdict, with the arithmetic behind it",
)
def bottleneck_get(request: HttpRequest, query: Query[TeamQuery]):
    team = _team(request, query.team)
    status = team_status_latest(team=team)
    if status is None:
        raise Http404("Nothing computed for this team yet.")
    figures = status.figures or {}
    return {
        "team": team.slug,
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
    response={200: FunnelOut, 404: ErrorOut},
    summary="Per-stage weekly metrics (entered, advanced, lost, conversion with its interval)",
)
def funnel_get(request: HttpRequest, query: Query[FunnelQuery]):
    team = _team(request, query.team)
    today = timezone.localdate()
    this_week = today - dt.timedelta(days=today.weekday())
    weeks = [this_week - dt.timedelta(weeks=query.weeks - i) for i in range(query.weeks)]
    rows = (
        StageMetric.objects.filter(team=team, week__gte=weeks[0], week__lt=this_week)
        .select_related("stage")
        .order_by("position", "week")
    )
    by_stage: dict[int, dict] = {}
    for stage in team.stages.order_by("position"):
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
