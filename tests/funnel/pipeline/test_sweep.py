"""The sweeper's rule for a lost request (issue 17, item 1): a team whose request no run took
is re-enqueued by the next sweep, seconds after the request when the queue is empty (the
message was dropped), after STALE_REQUEST when messages wait (the worker is only behind)."""

import datetime as dt

import pytest
from django.utils import timezone

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import RecomputeState
from funnel.pipeline import request, run
from funnel.pipeline.queue import queue_length
from funnel.pipeline.request import LOST_AFTER, STALE_REQUEST, team_recompute_request, teams_sweep
from funnel.pipeline.run import team_recompute

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def sent(monkeypatch):
    """The runs handed to the broker (a third party here): the team ids, in order."""
    runs = []
    monkeypatch.setattr(request, "task_enqueue", lambda name, *args, **kw: runs.extend(args))
    return runs


@pytest.fixture
def requested(team, sent):
    """A team with a new event and a request whose message is then lost: when it was asked."""
    stage_events_ingest(
        team=team,
        origin="api",
        schedule_recompute=False,
        events=[
            EventIn(
                event_id="e1",
                deal_external_id="D-1",
                occurred_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                stage="inquiry",
            )
        ],
    )
    assert team_recompute_request(team_id=team.id) is True
    assert sent == [team.id]
    return RecomputeState.objects.get(team=team).requested_at


def test_with_an_empty_queue_a_request_is_lost_after_seconds(team, sent, requested):
    assert teams_sweep(now=requested + LOST_AFTER - SECOND, waiting=0) == []
    assert teams_sweep(now=requested + LOST_AFTER, waiting=0) == [team.id]
    assert sent == [team.id, team.id]
    state = RecomputeState.objects.get(team=team)
    assert state.queued and state.requested_at == requested + LOST_AFTER


@pytest.mark.parametrize("waiting", [3, None], ids=["messages-waiting", "queue-unknown"])
def test_behind_a_queue_a_request_waits_the_longer_time(team, sent, requested, waiting):
    assert teams_sweep(now=requested + LOST_AFTER + SECOND, waiting=waiting) == []
    assert teams_sweep(now=requested + STALE_REQUEST - SECOND, waiting=waiting) == []
    assert teams_sweep(now=requested + STALE_REQUEST, waiting=waiting) == [team.id]


def test_a_run_that_took_the_request_and_died_is_re_enqueued_at_once(team, sent, requested):
    request.team_recompute_started(team_id=team.id)  # the run cleared the flag, then died
    assert teams_sweep(now=requested + SECOND, waiting=5) == [team.id]


def test_a_team_that_is_up_to_date_is_left_alone(team, sent, requested):
    state = RecomputeState.objects.get(team=team)
    team_recompute(team=team)  # the run drains the pending mark and passes the last event
    assert RecomputeState.objects.get(team=team).watermark > state.watermark
    assert teams_sweep(now=requested + STALE_REQUEST, waiting=0) == []


def test_the_queue_length_is_unknown_when_tasks_run_in_process():
    assert queue_length() is None


def test_a_run_killed_after_its_verdict_leaves_the_winnable_counts_to_the_sweeper(team, sent):
    """The verdict commits before the winnable counts: a worker killed in between must not
    leave the team looking up to date."""
    stage_events_ingest(
        team=team,
        origin="api",
        schedule_recompute=False,
        events=[
            EventIn(
                event_id="e1",
                deal_external_id="D-1",
                occurred_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                stage="inquiry",
            )
        ],
    )
    run.team_recompute_started(team_id=team.id)
    run.team_pending_drain(team=team)
    watermark = run.team_last_event_id(team_id=team.id)
    run._team_snapshots_recompute(team=team, now=timezone.now(), watermark=watermark)
    # ...and the worker dies here, before the winnable step.
    assert teams_sweep(waiting=0) == [team.id]
