"""The recompute: snapshots equal an independent count, runs are idempotent and debounced."""

import datetime as dt
from collections import Counter

import pytest
from django.conf import settings
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import (
    BottleneckStatus,
    PendingDeal,
    RecomputeState,
    StageEvent,
    StageMetric,
    WinnableCount,
    WinnableDimension,
)
from funnel.pipeline.queue import TEAM_RECOMPUTE
from funnel.pipeline.request import STALE_REQUEST, team_recompute_request, teams_sweep
from funnel.pipeline.run import team_recompute
from kaizen.celery import app

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def load(team, shape, prefix="syn"):
    events = funnel_events(funnel_generate(shape, now=NOW), prefix=prefix)
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    return events


def monday(moment):
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


def reference_counts(team):
    """Per (stage position, week): entered, advanced, lost — straight from the raw events,
    by the definition: a deal reached stage p when it visited p or a later stage, or was won;
    it left p when it first visited a later stage, else when it closed."""
    positions = {s.id: s.position for s in team.stages.all()}
    last_position = max(positions.values())
    logs = {}
    for e in StageEvent.objects.filter(team=team).order_by("occurred_at", "id"):
        logs.setdefault(e.deal_id, []).append(e)
    counts = Counter()
    for events in logs.values():
        visits = [(positions[e.stage_id], e.occurred_at) for e in events if e.stage_id]
        last = events[-1]
        outcome, closed_at = (last.outcome, last.occurred_at) if last.outcome else ("open", None)
        for p in range(1, last_position + 1):
            reached = [t for q, t in visits if q >= p]
            if not reached and outcome != "won":
                continue
            entered = min(reached) if reached else closed_at
            later = [t for q, t in visits if q > p]
            counts[p, monday(entered), "entered"] += 1
            if later:
                counts[p, monday(min(later)), "advanced"] += 1
            elif outcome == "won":
                counts[p, monday(closed_at), "advanced"] += 1
            elif outcome == "lost":
                counts[p, monday(closed_at), "lost"] += 1
    return counts


def test_weekly_snapshot_equals_an_independent_count_from_the_raw_events(team):
    load(team, FunnelShape(weeks=16, arrivals_per_week=12, seed=3))
    team_recompute(team=team, now=NOW)
    stored = Counter()
    for m in StageMetric.objects.filter(team=team):
        for kind in ("entered", "advanced", "lost"):
            if getattr(m, kind):
                stored[m.position, m.week, kind] = getattr(m, kind)
    assert stored == reference_counts(team)
    assert sum(stored.values()) > 300


def test_weekly_conversion_carries_its_wilson_interval(team):
    load(team, FunnelShape(weeks=8, arrivals_per_week=10, seed=4))
    team_recompute(team=team, now=NOW)
    m = StageMetric.objects.filter(team=team, advanced__gt=0, lost__gt=0).first()
    # Wilson 95 % by hand: centre (k + z²/2)/(n + z²), half-width z·sqrt(k(n-k)/n + z²/4)/(n + z²)
    k, n, z = m.advanced, m.advanced + m.lost, 1.959963984540054
    centre = (k + z * z / 2) / (n + z * z)
    half = z * ((k * (n - k) / n + z * z / 4) ** 0.5) / (n + z * z)
    assert m.conversion == pytest.approx(k / n)
    assert (m.conversion_low, m.conversion_high) == pytest.approx((centre - half, centre + half))


def test_running_twice_gives_the_same_rows(team):
    load(team, FunnelShape(weeks=10, arrivals_per_week=10, seed=5))
    first = team_recompute(team=team, now=NOW)
    rows = list(StageMetric.objects.filter(team=team).order_by("position", "week").values())
    second = team_recompute(team=team, now=NOW)
    again = list(StageMetric.objects.filter(team=team).order_by("position", "week").values())
    strip = [{k: v for k, v in r.items() if k != "id"} for r in rows]
    assert strip == [{k: v for k, v in r.items() if k != "id"} for r in again]
    assert first.id == second.id and BottleneckStatus.objects.filter(team=team).count() == 1
    assert second.watermark == StageEvent.objects.filter(team=team).latest("id").id
    assert second.figures == first.figures


def test_not_enough_data_is_said_plainly(team):
    status = team_recompute(team=team, now=NOW)
    assert status.verdict == "not_enough_data"
    assert "weeks" in status.figures["reason"]


def test_history_keeps_a_row_for_each_move_of_the_bottleneck(team):
    load(team, FunnelShape(weeks=10, arrivals_per_week=4, seed=6))
    assert team_recompute(team=team, now=NOW).verdict == "not_enough_data"
    load(team, FunnelShape(weeks=52, arrivals_per_week=40, seed=8), prefix="more")
    status = team_recompute(team=team, now=NOW)
    assert status.verdict != "not_enough_data"
    history = list(BottleneckStatus.objects.filter(team=team).order_by("computed_at", "id"))
    assert [h.changed for h in history] == [False, True]


def runs_sent(monkeypatch) -> list[int]:
    """Record the team runs the pipeline enqueues instead of running them."""
    sent: list[int] = []

    def enqueue(name, *args, countdown=None):
        if name == TEAM_RECOMPUTE:
            sent.append(args[0])

    monkeypatch.setattr("funnel.pipeline.request.task_enqueue", enqueue)
    return sent


def test_a_burst_of_writes_enqueues_one_run_and_one_trailing_run(team, monkeypatch):
    sent = runs_sent(monkeypatch)
    for _ in range(1000):
        team_recompute_request(team_id=team.id)
    assert sent == [team.id]
    # The run starts: it clears the flag, so the next writes enqueue exactly one trailing run.
    RecomputeState.objects.filter(team=team).update(queued=False)
    for _ in range(1000):
        team_recompute_request(team_id=team.id)
    assert sent == [team.id, team.id]


def test_sweeper_re_enqueues_a_team_whose_message_was_lost(team, monkeypatch):
    sent = runs_sent(monkeypatch)
    load(team, FunnelShape(weeks=3, arrivals_per_week=5, seed=9))
    team_recompute_request(team_id=team.id)  # the message goes "missing"
    assert sent == [team.id]
    assert teams_sweep() == []  # a fresh request is trusted for a while
    later = timezone.now() + STALE_REQUEST + dt.timedelta(seconds=1)
    assert teams_sweep(now=later) == [team.id]
    team_recompute(team=team)
    assert teams_sweep(now=later + dt.timedelta(minutes=5)) == []  # up to date: nothing to do


def test_sweeper_re_enqueues_a_team_with_pending_deals_below_its_watermark(team, monkeypatch):
    runs_sent(monkeypatch)
    load(team, FunnelShape(weeks=3, arrivals_per_week=5, seed=9))
    team_recompute(team=team)
    later = timezone.now() + STALE_REQUEST + dt.timedelta(seconds=1)
    assert teams_sweep(now=later) == []
    # A batch that took a lower event id committed after the run read its watermark: only
    # its pending mark tells.
    PendingDeal.objects.create(deal=team.deals.first(), team=team)
    assert teams_sweep(now=later) == [team.id]
    team_recompute(team=team)
    assert not PendingDeal.objects.filter(team=team).exists()


def test_winnable_counts_are_rebuilt_at_most_every_interval(team, monkeypatch, settings):
    settings.WINNABLE_REFRESH_SECONDS = 300
    runs_sent(monkeypatch)
    closed = dict(dimension=WinnableDimension.ALL)

    def won(deal, at):
        stage_events_ingest(
            team=team,
            origin="api",
            events=[
                EventIn(
                    event_id=f"{deal}-won", deal_external_id=deal, occurred_at=at, outcome="won"
                )
            ],
            schedule_recompute=False,
        )

    won("W1", NOW - dt.timedelta(days=3))
    team_recompute(team=team, now=NOW)
    assert sum(WinnableCount.objects.filter(team=team, **closed).values_list("won", flat=True)) == 1
    won("W2", NOW - dt.timedelta(days=2))
    team_recompute(team=team, now=NOW + dt.timedelta(seconds=60))  # throttled: verdict only
    assert sum(WinnableCount.objects.filter(team=team, **closed).values_list("won", flat=True)) == 1
    assert RecomputeState.objects.get(team=team).winnable_stale is True
    # The sweeper catches up once the interval has passed, and the run rebuilds them.
    assert teams_sweep(now=NOW + dt.timedelta(seconds=120)) == []
    assert teams_sweep(now=NOW + dt.timedelta(seconds=301)) == [team.id]
    team_recompute(team=team, now=NOW + dt.timedelta(seconds=301))
    assert sum(WinnableCount.objects.filter(team=team, **closed).values_list("won", flat=True)) == 2
    state = RecomputeState.objects.get(team=team)
    assert state.winnable_stale is False
    assert state.winnable_at == NOW + dt.timedelta(seconds=301)


def test_writes_schedule_a_recompute_that_runs_on_commit_in_eager_mode(
    team, django_capture_on_commit_callbacks
):
    events = funnel_events(funnel_generate(FunnelShape(weeks=2, arrivals_per_week=5), now=NOW))
    with django_capture_on_commit_callbacks(execute=True):
        stage_events_ingest(team=team, events=events, origin="api")
    status = BottleneckStatus.objects.get(team=team)
    assert status.watermark == StageEvent.objects.filter(team=team).latest("id").id
    assert RecomputeState.objects.get(team=team).queued is False


def test_task_settings_survive_a_killed_worker():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility > conf.task_time_limit > conf.task_soft_time_limit
    assert settings.CELERY_BEAT_SCHEDULE["teams-sweep"]["task"] == "funnel.pipeline.teams_sweep"


def test_company_snapshot_sums_the_teams_week_by_week(team, other_team):
    load(team, FunnelShape(weeks=14, arrivals_per_week=10, seed=21), prefix="n")
    load(other_team, FunnelShape(weeks=14, arrivals_per_week=10, seed=22), prefix="s")
    team_recompute(team=team, now=NOW)
    team_recompute(team=other_team, now=NOW)
    # The default list by station: market 1, marketing 2, qualifying 3, selling 4-5,
    # servicing 6. Selling's deals enter at stage 4, leave forward from 5, are lost in either.
    station_of = {1: 1, 2: 2, 3: 3, 4: 4, 5: 4, 6: 5}
    per_team = Counter()
    for m in StageMetric.objects.filter(team__isnull=False):
        key = station_of[m.position], m.week
        per_team[key] += m.lost
        if m.position != 5:
            per_team[key] += m.entered * 1_000_000
        if m.position != 4:
            per_team[key] += m.advanced * 1000
    company = {
        (m.position, m.week): m.entered * 1_000_000 + m.advanced * 1000 + m.lost
        for m in StageMetric.objects.filter(team__isnull=True)
    }
    assert company == {k: v for k, v in per_team.items() if v}
    assert {m.station for m in StageMetric.objects.filter(team__isnull=True, position=4)} == {
        "selling"
    }
    status = BottleneckStatus.objects.get(team__isnull=True)
    assert status.watermark == StageEvent.objects.latest("id").id
