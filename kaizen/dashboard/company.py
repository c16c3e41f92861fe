"""Reads for the company dashboard: every team's latest verdict and the pooled station counts,
from snapshots only (the team page's reads are in kaizen.dashboard.selectors)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Subquery, Sum

from funnel.models import BottleneckStatus, StageMetric, Station
from funnel.periods import Period
from funnel.pipeline.as_of import team_status_for_period
from funnel.pipeline.company import company_status_as_of
from kaizen.dashboard.selectors import ACTIVE_PHASES, CHART_WEEKS, WeekRow, chart_window
from kaizen.models import Cycle


@dataclass(frozen=True)
class StationRow:
    """One station, all teams pooled over the company verdict's recent weeks."""

    station: str
    teams: int  # teams with at least one stage in the station
    stages: int  # their stages in it
    entered: int
    advanced: int
    lost: int

    @property
    def decided(self) -> int:
        return self.advanced + self.lost


STATION_WEEKS = 13


def company_stations_get(*, company_status: BottleneckStatus | None) -> list[StationRow]:
    """The company's counts by station (its StageMetric rows, funnel.pipeline.company) over
    the company verdict's recent weeks, else the last 13 weeks with data; one query."""
    figures = (company_status.figures or {}) if company_status else {}
    rows = StageMetric.objects.filter(team__isnull=True)
    if figures.get("recent_from") and figures.get("recent_to"):
        first = dt.date.fromisoformat(figures["recent_from"])
        end = dt.date.fromisoformat(figures["recent_to"])
    else:
        last = rows.order_by("-week").values_list("week", flat=True).first()
        if last is None:
            return []
        end = last + dt.timedelta(weeks=1)
        first = end - dt.timedelta(weeks=STATION_WEEKS)
    sums = {
        r["station"]: r
        for r in rows.filter(week__gte=first, week__lt=end)
        .values("station")
        .order_by("station")
        .annotate(e=Sum("entered"), a=Sum("advanced"), lost_=Sum("lost"))
    }
    # Which teams have stages where: recorded by the roll-up that made these rows.
    present = figures.get("stations") or {}
    teams = {k: (v.get("teams", 0), v.get("stages", 0)) for k, v in present.items()}
    return [
        StationRow(
            station=station,
            teams=teams.get(station, (0, 0))[0],
            stages=teams.get(station, (0, 0))[1],
            entered=sums.get(station, {}).get("e") or 0,
            advanced=sums.get(station, {}).get("a") or 0,
            lost=sums.get(station, {}).get("lost_") or 0,
        )
        for station in Station.values
    ]


@dataclass
class CompanyDashboard:
    statuses: dict[int, BottleneckStatus]  # team id -> latest
    weeks: list[WeekRow]  # summed over the teams
    team_weeks: dict[int, list[WeekRow]]  # per team: first stage's and last stage's rows
    company_status: BottleneckStatus | None
    active_cycles: dict[int, int]  # team id -> active cycles
    chart_to: dt.date
    stations: list[StationRow] = field(default_factory=list)


def company_dashboard_get(
    *, team_ids: list[int], whole_company: bool, period: Period | None = None
) -> CompanyDashboard:
    """The teams' latest verdicts and weekly figures, in five queries for any number of teams.

    The company-wide verdict (a snapshot of its own) is shown only to someone who sees every
    team: a manager of two teams sees their sum, not a verdict over teams they cannot open.
    For a period other than the live one (`period` not default), every verdict is the one as
    of that date, computed on request from the weekly counts (and cached), and the charts end
    at its week.
    """
    start, end = chart_window()
    past = period is not None and not period.is_default
    if past:
        end = period.end
        start = end - dt.timedelta(weeks=max(CHART_WEEKS, period.verdict_weeks))
    latest = (
        BottleneckStatus.objects.filter(team=OuterRef("team"))
        .order_by("-computed_at", "-id")
        .values("id")[:1]
    )
    statuses = {
        s.team_id: s
        for s in BottleneckStatus.objects.filter(team_id__in=team_ids)
        .filter(id=Subquery(latest))
        .select_related("stage", "team")
    }
    if past:
        statuses = {
            team_id: team_status_for_period(team=s.team, latest=s, period=period)
            for team_id, s in statuses.items()
        }
    rows = (
        StageMetric.objects.filter(team_id__in=team_ids, week__gte=start, week__lt=end)
        .values_list("team_id", "position", "week", "entered", "advanced", "lost")
        .order_by("team_id", "position", "week")
    )
    summed: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0, 0, 0])
    per_team: dict[int, list[WeekRow]] = defaultdict(list)
    for team_id, position, week, entered, advanced, lost in rows:
        cell = summed[position, week]
        cell[0] += entered
        cell[1] += advanced
        cell[2] += lost
        per_team[team_id].append(WeekRow(position, week, entered, advanced, lost))
    company_status = None
    stations: list[StationRow] = []
    if whole_company:
        company_status = (
            BottleneckStatus.objects.filter(team__isnull=True)
            .order_by("-computed_at", "-id")
            .first()
        )
        if past and company_status is not None:
            company_status = company_status_as_of(
                as_of=period.as_of, window=period.window, latest=company_status
            )
        stations = company_stations_get(company_status=company_status)
    cycles = dict(
        Cycle.objects.filter(team_id__in=team_ids, phase__in=ACTIVE_PHASES)
        .values("team_id")
        .annotate(n=Count("id"))
        .values_list("team_id", "n")
    )
    return CompanyDashboard(
        statuses=statuses,
        weeks=[WeekRow(p, w, *c) for (p, w), c in sorted(summed.items())],
        team_weeks=dict(per_team),
        company_status=company_status,
        active_cycles=cycles,
        chart_to=end,
        stations=stations,
    )
