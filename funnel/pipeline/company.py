"""The company roll-up: every team's weekly counts summed by funnel position.

Teams start from the same default stage list, so position k means the same step everywhere; the
station and name of a position are taken from the first team that has it. Computed from the
teams' StageMetric rows (a few thousand), never from the event log.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from funnel.metrics.accounting import StageWeek
from funnel.metrics.intervals import wilson_interval
from funnel.metrics.verdict import StageSpec, bottleneck_verdict
from funnel.models import BottleneckStatus, Stage, StageEvent, StageMetric, Verdict
from funnel.pipeline.figures import SETTINGS, verdict_figures
from funnel.pipeline.request import company_recompute_finished, company_recompute_started
from funnel.pipeline.snapshots import stage_metrics_sync


def company_recompute(*, now: dt.datetime | None = None) -> BottleneckStatus | None:
    """Replace the company-wide StageMetric rows and record the company verdict."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # one company recompute at a time
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('company_recompute'))")
        stages: dict[int, Stage] = {}
        for stage in Stage.objects.order_by("team_id", "position"):
            stages.setdefault(stage.position, stage)
        if not stages:
            return None
        sums = (
            StageMetric.objects.filter(team__isnull=False)
            .values("position", "week")
            .order_by("position", "week")
            .annotate(e=Sum("entered"), a=Sum("advanced"), lost_=Sum("lost"))
        )
        stage_weeks = [
            StageWeek(r["position"], r["week"], r["e"], r["a"], r["lost_"])
            for r in sums
            if r["position"] in stages
        ]
        rows = []
        for w in stage_weeks:
            rate = wilson_interval(w.advanced, w.advanced + w.lost)
            rows.append(
                StageMetric(
                    team=None,
                    stage=None,
                    station=stages[w.stage_position].station,
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
        ordered = [stages[p] for p in sorted(stages)]
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
            "figures": verdict_figures(verdict, ordered),
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
