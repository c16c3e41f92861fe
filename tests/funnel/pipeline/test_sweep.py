"""The sweeper's rule for a lost request (issue 17, item 1): a team whose request no run took
is re-enqueued by the next sweep, seconds after the request when the queue is empty (the
message was dropped), after STALE_REQUEST when messages wait (the worker is only behind)."""

import datetime as dt

import pytest
from django.utils import timezone

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import CompanyRecomputeState, RecomputeState
from funnel.pipeline import request, run
from funnel.pipeline.queue import COMPANY_RECOMPUTE, TEAM_REBUILD, queue_length
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


class BrokerDown(Exception):
    pass


@pytest.fixture
def messages(monkeypatch):
    """Every message handed to the broker, by task name; `down` makes the broker refuse."""
    log = {"sent": [], "down": False}

    def enqueue(name, *args, **kw):
        if log["down"]:
            raise BrokerDown("Connection refused")
        log["sent"].append((name, *args))

    monkeypatch.setattr(request, "task_enqueue", enqueue)
    return log


def test_a_rebuild_the_broker_refused_is_sent_by_the_next_sweep(
    team, messages, django_capture_on_commit_callbacks
):
    messages["down"] = True
    with django_capture_on_commit_callbacks(execute=True):
        request.team_rebuild_on_commit(team_id=team.id)  # a stage change, say: no exception
    assert RecomputeState.objects.get(team=team).rebuild_wanted is True

    messages["down"] = False
    assert teams_sweep(waiting=0) == [team.id]
    assert (TEAM_REBUILD, team.id) in messages["sent"]
    assert RecomputeState.objects.get(team=team).rebuild_wanted is False
    messages["sent"].clear()
    teams_sweep(waiting=0)
    assert (TEAM_REBUILD, team.id) not in messages["sent"]  # sent once


def test_a_company_roll_up_the_broker_refused_is_asked_again(team, messages):
    messages["down"] = True
    assert request.company_recompute_request() is False  # the team run that asked goes on
    assert CompanyRecomputeState.objects.get(id=1).queued is False

    messages["down"] = False
    assert request.company_recompute_request() is True
    assert messages["sent"] == [(COMPANY_RECOMPUTE,)]


def test_a_lost_company_roll_up_is_asked_again_after_the_stale_time(team, messages, monkeypatch):
    assert request.company_recompute_request() is True
    assert request.company_recompute_request() is False  # a live request covers it
    CompanyRecomputeState.objects.filter(id=1).update(
        requested_at=timezone.now() - STALE_REQUEST - SECOND
    )  # its message was dropped (Redis flushed): no run ever took it
    assert request.company_recompute_request() is True
    assert messages["sent"] == [(COMPANY_RECOMPUTE,), (COMPANY_RECOMPUTE,)]


def test_the_sweep_asks_for_the_company_roll_up_when_a_team_ran_after_it(team, messages):
    RecomputeState.objects.update_or_create(team=team, defaults={"finished_at": timezone.now()})
    teams_sweep(waiting=0)
    assert (COMPANY_RECOMPUTE,) in messages["sent"]

    request.company_recompute_started()
    request.company_recompute_finished()
    messages["sent"].clear()
    teams_sweep(waiting=0)
    assert (COMPANY_RECOMPUTE,) not in messages["sent"]
