"""Asking for recomputes: the on-commit helper, the company debounce, and isolation of one
team's failure in the nightly rebuild."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from kombu.exceptions import OperationalError

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.management.commands import recompute as recompute_command
from funnel.models import BottleneckStatus, CompanyRecomputeState, RecomputeState, StageEvent
from funnel.pipeline import request, run
from funnel.pipeline.queue import COMPANY_RECOMPUTE, TEAM_RECOMPUTE
from funnel.pipeline.tasks import teams_rebuild_task
from kaizen.celery import app

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _events(seed=1):
    return funnel_events(
        funnel_generate(FunnelShape(weeks=4, arrivals_per_week=5, seed=seed), now=NOW)
    )


def test_a_broker_outage_after_commit_loses_no_write(
    team, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(name, *args, countdown=None):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(request, "task_enqueue", broker_down)
    events = _events()
    with django_capture_on_commit_callbacks(execute=True):
        result = stage_events_ingest(team=team, events=events, origin="api")
    assert result.accepted == len(events)
    assert StageEvent.objects.filter(team=team).count() == len(events)
    state = RecomputeState.objects.get(team=team)
    # No run is waiting, so the very next sweep (not one two minutes later) enqueues it.
    assert state.queued is False and state.watermark == 0
    assert "the sweeper will retry" in caplog.text
    sent = []
    monkeypatch.setattr(request, "task_enqueue", lambda name, *args, **kw: sent.append(args))
    assert request.teams_sweep() == [team.id]
    assert sent == [(team.id,)]


def test_the_company_roll_up_is_asked_for_once_until_it_starts(db, monkeypatch):
    sent = []
    monkeypatch.setattr(
        request, "task_enqueue", lambda name, *a, countdown=None: sent.append((name, countdown))
    )
    assert request.company_recompute_request() is True
    assert request.company_recompute_request() is False
    assert sent == [(COMPANY_RECOMPUTE, request.COMPANY_DEBOUNCE_SECONDS)]
    request.company_recompute_started()
    assert CompanyRecomputeState.objects.get(id=1).queued is False
    assert request.company_recompute_request() is True
    assert len(sent) == 2


def test_team_runs_ask_for_the_company_roll_up_which_runs_eagerly(team, other_team):
    for t, seed in ((team, 3), (other_team, 4)):
        stage_events_ingest(team=t, events=_events(seed), origin="api")
    teams_rebuild_task()
    company = BottleneckStatus.objects.filter(team__isnull=True).get()
    assert company.watermark == StageEvent.objects.latest("id").id
    assert CompanyRecomputeState.objects.get(id=1).runs >= 1


def test_one_failing_team_does_not_stop_the_nightly_rebuild(team, other_team, monkeypatch):
    real = run.team_rebuild

    def rebuild(*, team):
        if team.slug == "north":
            raise RuntimeError("a broken row")
        return real(team=team)

    monkeypatch.setattr(run, "team_rebuild", rebuild)
    for t, seed in ((team, 5), (other_team, 6)):
        stage_events_ingest(team=t, events=_events(seed), origin="api", schedule_recompute=False)
    assert sorted(teams_rebuild_task()) == sorted([team.id, other_team.id])
    assert not BottleneckStatus.objects.filter(team=team).exists()
    assert BottleneckStatus.objects.filter(team=other_team).exists()
    failed = RecomputeState.objects.get(team=team)
    assert failed.failure == "rebuild: RuntimeError: a broken row"


def test_recompute_command_goes_on_after_a_failing_team_and_says_so(team, other_team, monkeypatch):
    real = recompute_command.team_recompute

    def run(*, team, **kwargs):
        if team.slug == "north":
            raise RuntimeError("a broken row")
        return real(team=team, **kwargs)

    monkeypatch.setattr(recompute_command, "team_recompute", run)
    with pytest.raises(CommandError, match="failed for 1 team"):
        call_command("recompute")
    assert BottleneckStatus.objects.filter(team=other_team).exists()


def test_the_request_names_the_task_the_worker_registers(db):
    app.loader.import_default_modules()
    assert TEAM_RECOMPUTE in app.tasks and COMPANY_RECOMPUTE in app.tasks


def test_a_rebuild_asked_for_while_the_broker_is_down_never_fails_the_write(
    team, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(name, *args, countdown=None):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(request, "task_enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        request.team_rebuild_on_commit(team_id=team.id)
    assert len(callbacks) == 1
    assert f"rebuild for team {team.id} not sent; the next sweep sends it" in caplog.text
