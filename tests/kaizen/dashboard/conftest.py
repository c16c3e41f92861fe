"""A team with a year of generated deals whose Qualified stage converts half as well lately,
so its recomputed verdict is a bottleneck at Qualified (the scenario tests' known shape)."""

import pytest
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.pipeline.run import team_recompute

NOW = timezone.now().replace(minute=0, second=0, microsecond=0)
SHAPE = FunnelShape(seed=12, arrivals_per_week=30, conversion_factor={2: 0.5})


def load(team, shape=SHAPE, prefix="syn"):
    events = funnel_events(funnel_generate(shape, now=NOW), prefix=prefix)
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    return team_recompute(team=team)


@pytest.fixture
def loaded(team):
    """The team "north" with its snapshots computed; returns its BottleneckStatus."""
    return load(team)
