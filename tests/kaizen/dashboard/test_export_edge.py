"""A team whose export stops taking new deals before its closes stop: the page says where new
deals stopped, the verdict judges the weeks before, and the charts end there too."""

import datetime as dt
from dataclasses import replace

import pytest
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.metrics.accounting import week_start
from funnel.periods import Period
from funnel.pipeline.run import team_recompute
from funnel.services import team_create
from kaizen.dashboard.selectors import team_dashboard_get

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)
STOP = NOW - dt.timedelta(weeks=3)


def test_the_charts_and_the_verdict_end_where_new_deals_stop():
    generated = funnel_generate(FunnelShape(seed=5, weeks=40, arrivals_per_week=40), now=NOW)
    first = {}
    for deal, stage, at in zip(generated.deal, generated.stage, generated.at, strict=True):
        if stage == 0:
            first.setdefault(int(deal), at)
    keep = [first.get(int(d), 0) < STOP.timestamp() for d in generated.deal]
    cut = replace(
        generated,
        deal=generated.deal[keep],
        stage=generated.stage[keep],
        outcome=generated.outcome[keep],
        at=generated.at[keep],
    )
    team = team_create(slug="edge", name="Edge")
    events = funnel_events(cut)
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="csv", schedule_recompute=False
        )
    status = team_recompute(team=team, now=NOW)
    stopped = week_start(STOP.date())
    assert status.figures["recent_to"] == stopped.isoformat()
    assert status.figures["edge"].startswith("No new deals after the week of")
    period = Period(as_of=NOW.date(), window=13, default=True)
    assert team_dashboard_get(team=team, period=period).chart_to == stopped
