"""The recompute end to end through Redis and a real worker: scenarios with a known bottleneck,
debouncing, and faults (lost messages, a worker killed mid-recompute) that must converge."""

import datetime as dt
import json

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.models import BottleneckStatus, RecomputeState, StageEvent, StageMetric
from funnel.pipeline.request import STALE_REQUEST, teams_sweep
from funnel.pipeline.run import team_recompute
from funnel.services import team_create
from tests.integration_support import wait_for

pytestmark = pytest.mark.integration
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def ingest(team, events, batch=1000):
    for i in range(0, len(events), batch):
        stage_events_ingest(team=team, events=events[i : i + batch], origin="api")


def converged(team, timeout=90):
    last = StageEvent.objects.filter(team=team).latest("id").id

    def done():
        status = BottleneckStatus.objects.filter(team=team).order_by("-computed_at").first()
        return status if status and status.watermark >= last else None

    return wait_for(done, timeout=timeout, what=f"a recompute through event {last}")


def snapshot(team):
    metrics = list(
        StageMetric.objects.filter(team=team)
        .order_by("position", "week")
        .values_list("position", "week", "entered", "advanced", "lost", "conversion")
    )
    status = BottleneckStatus.objects.filter(team=team).order_by("-computed_at").first()
    return metrics, (status.verdict, status.stage_id, status.station, status.gap_per_week)


@pytest.mark.parametrize(
    ("shape", "verdict", "station", "stage"),
    [
        (FunnelShape(seed=11), "no_clear_bottleneck", "", None),
        (FunnelShape(seed=12, conversion_factor={2: 0.5}), "bottleneck", "qualifying", "qualified"),
        (FunnelShape(seed=13, arrivals_factor=0.5), "bottleneck", "market", None),
    ],
    ids=["steady", "qualified-halved", "arrivals-halved"],
)
def test_scenarios_name_the_right_bottleneck(celery_worker, shape, verdict, station, stage):
    team = team_create(slug="scenario", name="Scenario")
    ingest(team, funnel_events(funnel_generate(shape, now=NOW)))
    status = converged(team)
    assert (status.verdict, status.station) == (verdict, station)
    assert (status.stage.slug if status.stage else None) == stage
    if verdict == "bottleneck":
        assert status.gap_per_week > 0
        assert "won deals per week" in status.figures["reason"]


def test_days_in_stage_tripling_shows_as_a_flow_shortfall(celery_worker):
    team = team_create(slug="slow", name="Slow")
    ingest(
        team, funnel_events(funnel_generate(FunnelShape(seed=14, days_factor={3: 3.0}), now=NOW))
    )
    status = converged(team)
    slow = {note["slug"] for note in status.figures["flow"] if note["slow"]}
    assert slow == {"proposal"}


def test_a_burst_queues_one_run_and_the_snapshot_includes_every_event(celery_worker):
    team = team_create(slug="burst", name="Burst")
    events = funnel_events(funnel_generate(FunnelShape(weeks=20, arrivals_per_week=20), now=NOW))
    celery_worker.stop()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    ingest(team, events[:1000], batch=10)  # a burst of 100 writes
    queued = [json.loads(m)["headers"]["task"] for m in broker.lrange("celery", 0, -1)]
    # One queued run for the whole burst (company roll-ups of earlier tests may wait beside it).
    assert queued.count("funnel.pipeline.team_recompute") == 1
    celery_worker.start()
    status = converged(team)
    assert RecomputeState.objects.get(team=team).runs == 1
    expected = snapshot(team)
    team_recompute(team=team)
    assert snapshot(team) == expected
    assert status.watermark == StageEvent.objects.filter(team=team).latest("id").id


def test_lost_messages_are_repaired_by_the_sweeper(celery_worker):
    team = team_create(slug="lost", name="Lost")
    events = funnel_events(funnel_generate(FunnelShape(weeks=20, arrivals_per_week=20), now=NOW))
    celery_worker.stop()
    ingest(team, events)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()  # Redis restarted without persistence: every queued message is gone
    celery_worker.start()
    assert not BottleneckStatus.objects.filter(team=team).exists()
    assert teams_sweep(now=timezone.now() + STALE_REQUEST + dt.timedelta(seconds=1)) == [team.id]
    converged(team)
    after_repair = snapshot(team)
    team_recompute(team=team)  # a clean run on the same data
    assert snapshot(team) == after_repair


def test_a_worker_killed_mid_recompute_converges_to_the_clean_result(celery_worker):
    team = team_create(slug="killed", name="Killed")
    events = funnel_events(funnel_generate(FunnelShape(seed=15), now=NOW))
    celery_worker.stop()
    ingest(team, events)
    log_size = celery_worker.log_path.stat().st_size
    celery_worker.start()
    wait_for(
        lambda: "funnel.pipeline.team_recompute" in celery_worker.log_path.read_text()[log_size:],
        timeout=60,
        interval=0.01,
        what="the worker to pick up the recompute",
    )
    celery_worker.kill()  # SIGKILL: no ack, the transaction is rolled back by PostgreSQL
    celery_worker.start()
    teams_sweep(now=timezone.now() + STALE_REQUEST + dt.timedelta(seconds=1))
    converged(team)
    repaired = snapshot(team)
    team_recompute(team=team)
    assert snapshot(team) == repaired
