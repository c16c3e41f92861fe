"""Weekly snapshot rows for cycle tests: StageMetric is what the Check reads."""

import datetime as dt

from funnel.metrics.accounting import week_start
from funnel.metrics.intervals import wilson_interval
from funnel.models import Stage, StageMetric

TODAY = dt.date(2026, 11, 25)  # a Wednesday
THIS_WEEK = week_start(TODAY)


def weeks_ago(n: int) -> dt.date:
    return THIS_WEEK - dt.timedelta(weeks=n)


def stage_weeks(stage: Stage, first: dt.date, rows: list[tuple[int, int]], entered: int = 0):
    """One StageMetric per week from `first`: (advanced, lost) per week."""
    metrics = []
    for i, (advanced, lost) in enumerate(rows):
        rate = wilson_interval(advanced, advanced + lost)
        metrics.append(
            StageMetric(
                team=stage.team,
                stage=stage,
                station=stage.station,
                position=stage.position,
                week=first + dt.timedelta(weeks=i),
                entered=entered,
                advanced=advanced,
                lost=lost,
                conversion=rate.rate,
                conversion_low=rate.low,
                conversion_high=rate.high,
            )
        )
    StageMetric.objects.bulk_create(metrics)
    return metrics


BASELINE_ROWS = [(4, 6), (5, 5), (3, 7), (4, 6), (5, 5), (4, 6), (3, 7), (4, 6), (5, 5)]
BASELINE_ROWS += [(4, 6), (4, 6), (3, 7), (5, 5)]  # 13 weeks, 53 of 130 advanced
DO_ROWS = [(8, 2), (7, 3), (8, 2), (9, 1)]  # 32 of 40 advanced


def weeks_before_now(n: int) -> dt.date:
    """For view tests, which run on the real date."""
    from django.utils import timezone

    return week_start(timezone.localdate()) - dt.timedelta(weeks=n)
