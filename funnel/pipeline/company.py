"""The company roll-up: every team's weekly counts rolled up by station.

Teams have their own stage lists (4 stages, 9 stages, a loan funnel), so stage k means nothing
across teams; the station does. Each team's weekly counts by stage become counts by station
(funnel.metrics.stations: entries to the station's first stage, advances out of its last, losses
in any), summed over the teams; the company's StageMetric rows and verdict are per station,
positions 1..5 in the order of Station. Computed from the teams' StageMetric rows (a few
thousand), never from the event log.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from funnel.metrics.accounting import StageWeek, week_start
from funnel.metrics.intervals import wilson_interval
from funnel.metrics.stations import station_weeks_pooled, team_station_weeks
from funnel.metrics.verdict import StageSpec, bottleneck_verdict
from funnel.models import BottleneckStatus, Stage, StageEvent, StageMetric, Station, Verdict
from funnel.pipeline.as_of import status_version, verdict_settings
from funnel.pipeline.figures import SETTINGS, verdict_figures
from funnel.pipeline.request import company_recompute_finished, company_recompute_started
from funnel.pipeline.snapshots import stage_metrics_sync

STATIONS = tuple(Station.values)


def team_stations() -> dict[int, dict[int, str]]:
    """Per team: its funnel's stage positions and their stations."""
    stations: dict[int, dict[int, str]] = defaultdict(dict)
    for team_id, position, station in (
        Stage.objects.in_funnel().values_list("team_id", "position", "station").order_by()
    ):
        stations[team_id][position] = station
    return stations


def stations_present(stations: dict[int, dict[int, str]]) -> dict[str, dict[str, int]]:
    """Per station: how many teams have a stage in it, and how many stages they have there."""
    return {
        station: {
            "teams": sum(1 for by_position in stations.values() if station in by_position.values()),
            "stages": sum(
                list(by_position.values()).count(station) for by_position in stations.values()
            ),
        }
        for station in STATIONS
    }


def company_station_weeks(stations: dict[int, dict[int, str]] | None = None) -> list[StageWeek]:
    """Every team's weekly counts by station, summed (positions 1..5: STATIONS)."""
    stations = team_stations() if stations is None else stations
    weeks: dict[int, list[StageWeek]] = defaultdict(list)
    for team_id, position, week, entered, advanced, lost in (
        StageMetric.objects.filter(team__isnull=False)
        .values_list("team_id", "position", "week", "entered", "advanced", "lost")
        .order_by("team_id", "position", "week")
    ):
        weeks[team_id].append(StageWeek(position, week, entered, advanced, lost))
    return station_weeks_pooled(
        team_station_weeks(rows, stations.get(team_id, {}), STATIONS)
        for team_id, rows in weeks.items()
    )


def company_recompute(*, now: dt.datetime | None = None) -> BottleneckStatus | None:
    """Replace the company-wide StageMetric rows (one per station and week) and record the
    company verdict over the stations."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # one company recompute at a time
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('company_recompute'))")
        if not Stage.objects.exists():
            return None
        stations = team_stations()
        stage_weeks = company_station_weeks(stations)
        rows = []
        for w in stage_weeks:
            rate = wilson_interval(w.advanced, w.advanced + w.lost)
            rows.append(
                StageMetric(
                    team=None,
                    stage=None,
                    station=STATIONS[w.stage_position - 1],
                    position=w.stage_position,
                    week=w.week_start,
                    entered=w.entered,
                    advanced=w.advanced,
                    lost=w.lost,
                    conversion=rate.rate,
                    conversion_low=rate.low,
                    conversion_high=rate.high,
                )
            )
        stage_metrics_sync(team_id=None, rows=rows)
        # The stations as the verdict's "stages" (unsaved: names for its arithmetic).
        ordered = [
            Stage(position=i, slug=station, name=Station(station).label, station=station)
            for i, station in enumerate(STATIONS, start=1)
        ]
        verdict = bottleneck_verdict(
            stages=[
                StageSpec(position=s.position, station=s.station, slug=s.slug) for s in ordered
            ],
            stage_weeks=stage_weeks,
            as_of=now.date(),
            settings=SETTINGS,
        )
        gap = verdict.gap if verdict.gap is None or verdict.gap != float("inf") else None
        values = {
            "verdict": Verdict(str(verdict.kind)),
            "station": verdict.station or "",
            "gap_per_week": gap,
            "figures": verdict_figures(verdict, ordered) | {"stations": stations_present(stations)},
            "watermark": StageEvent.objects.order_by("-id").values_list("id", flat=True).first()
            or 0,
            "computed_at": now,
        }
        latest = BottleneckStatus.objects.filter(team__isnull=True).order_by("-computed_at").first()
        if latest and (latest.verdict, latest.station) == (values["verdict"], values["station"]):
            for name, value in values.items():
                setattr(latest, name, value)
            latest.save()
            return latest
        return BottleneckStatus.objects.create(team=None, changed=latest is not None, **values)


def company_recompute_queued() -> BottleneckStatus | None:
    """The queued roll-up: its flag is cleared first, so team runs from here on ask for one
    more, then the roll-up, then its run is counted."""
    company_recompute_started()
    status = company_recompute()
    company_recompute_finished()
    return status


def company_status_as_of(
    *, as_of: dt.date, window: int | None, latest: BottleneckStatus | None
) -> BottleneckStatus:
    """The company verdict for another period, unsaved: computed on request from the teams'
    weekly counts by station (never the event log), cached under the latest roll-up's
    version. Only the weeks up to the week of ``as_of`` count."""
    end = week_start(as_of)
    key = f"company-as-of:{status_version(latest)}:{end}:{window or 'all'}"
    figures = cache.get(key)
    if figures is None:
        stations = team_stations()
        stage_weeks = [w for w in company_station_weeks(stations) if w.week_start <= end]
        ordered = [
            Stage(position=i, slug=station, name=Station(station).label, station=station)
            for i, station in enumerate(STATIONS, start=1)
        ]
        verdict = bottleneck_verdict(
            stages=[
                StageSpec(position=s.position, station=s.station, slug=s.slug) for s in ordered
            ],
            stage_weeks=stage_weeks,
            as_of=as_of,
            settings=verdict_settings(window),
        )
        figures = verdict_figures(verdict, ordered) | {
            "stations": stations_present(stations),
            "as_of": as_of.isoformat(),
            "window": window or "all",
        }
        cache.set(key, figures, 3600)
    gap = figures.get("gap")
    return BottleneckStatus(
        team=None,
        verdict=Verdict(str(figures["kind"])),
        station=figures.get("station") or "",
        gap_per_week=gap if isinstance(gap, int | float) else None,
        figures=figures,
        watermark=latest.watermark if latest else 0,
        computed_at=latest.computed_at if latest else None,
    )
