"""The pipeline's own tasks on a real worker: the company roll-up as its own debounced task and
the nightly rebuild fanned out one task per team."""

import pytest
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.models import BottleneckStatus, CompanyRecomputeState, RecomputeState, StageEvent
from funnel.pipeline.tasks import teams_rebuild_task
from funnel.services import team_create
from tests.integration_support import wait_for

pytestmark = pytest.mark.integration
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def _load(team, seed):
    events = funnel_events(
        funnel_generate(FunnelShape(weeks=16, arrivals_per_week=10, seed=seed), now=NOW)
    )
    for i in range(0, len(events), 500):
        stage_events_ingest(team=team, events=events[i : i + 500], origin="api")


def test_team_runs_are_followed_by_one_company_roll_up_task(celery_worker):
    north = team_create(slug="roll-north", name="North")
    south = team_create(slug="roll-south", name="South")
    _load(north, seed=31)
    _load(south, seed=32)
    last = StageEvent.objects.order_by("-id").values_list("id", flat=True).first()

    def company_through_last_event():
        status = BottleneckStatus.objects.filter(team__isnull=True).order_by("-id").first()
        return status if status and status.watermark >= last else None

    # The team runs finish first; the roll-up waits its debounce window, then covers both.
    status = wait_for(company_through_last_event, timeout=90, what="the company roll-up")
    assert status.figures["contenders"] or status.verdict == "not_enough_data"
    state = wait_for(
        lambda: CompanyRecomputeState.objects.filter(id=1, queued=False, runs__gte=1).first(),
        timeout=30,
        what="the roll-up's flag to clear",
    )
    # Debounced: far fewer roll-ups than team runs asked for.
    team_runs = sum(RecomputeState.objects.values_list("runs", flat=True))
    assert 1 <= state.runs <= team_runs


def test_the_nightly_rebuild_runs_one_task_per_team(celery_worker):
    teams = [team_create(slug=f"night-{i}", name=f"Night {i}") for i in range(3)]
    for i, team in enumerate(teams):
        _load(team, seed=40 + i)
    wait_for(
        lambda: all(BottleneckStatus.objects.filter(team=t).exists() for t in teams),
        timeout=90,
        what="the first runs",
    )
    runs_before = dict(RecomputeState.objects.values_list("team_id", "runs"))
    # The fan-out runs here; each team's rebuild goes to the worker as its own task.
    assert sorted(teams_rebuild_task()) == sorted(t.id for t in teams)
    wait_for(
        lambda: all(RecomputeState.objects.get(team=t).runs > runs_before[t.id] for t in teams),
        timeout=90,
        what="a rebuild of every team",
    )
