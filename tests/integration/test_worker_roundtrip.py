"""A task goes through Redis to a real Celery worker, which writes to the test database."""

from datetime import timedelta

import pytest
from celery.result import EagerResult
from django.utils import timezone

from funnel.models import Deal, DealStatus, Origin, Outcome, StageEvent
from funnel.pipeline.tasks import deal_refresh_position_task
from funnel.services import team_create
from kaizen.celery import app
from tests.integration_support import wait_for

pytestmark = pytest.mark.integration


def test_deal_position_is_refreshed_by_the_worker(celery_worker):
    assert app.conf.task_always_eager is False  # .delay() must go through the broker
    team = team_create(slug="north", name="North Region")
    stage = team.stages.get(slug="qualified")
    deal = Deal.objects.create(team=team, external_id="CRM-1", account="Acme")
    now = timezone.now().replace(microsecond=0)
    # Written directly, so the deal's cached position is stale until the task runs. The later
    # event arrives first: the worker must order by occurred_at, not by arrival.
    StageEvent.objects.create(
        team=team,
        deal=deal,
        outcome=Outcome.LOST,
        lost_reason="No budget",
        occurred_at=now - timedelta(days=1),
        event_id="e-2",
        origin=Origin.API,
    )
    StageEvent.objects.create(
        team=team,
        deal=deal,
        stage=stage,
        occurred_at=now - timedelta(days=5),
        event_id="e-1",
        origin=Origin.API,
    )
    deal.refresh_from_db()
    assert (deal.status, deal.current_stage_id) == (DealStatus.OPEN, None)

    result = deal_refresh_position_task.delay(deal.id)
    assert not isinstance(result, EagerResult)  # sent to the broker, not run in process

    def refreshed():
        row = Deal.objects.get(id=deal.id)
        return row if row.status != DealStatus.OPEN else None

    row = wait_for(refreshed, timeout=30, what="the worker to refresh the deal")
    assert row.status == DealStatus.LOST
    assert row.current_stage_id == stage.id
    assert row.lost_reason == "No budget"
    assert row.stage_entered_at == now - timedelta(days=5)
    assert row.opened_at == now - timedelta(days=5)
    assert row.closed_at == now - timedelta(days=1)
    assert celery_worker.is_alive()
    assert "funnel.pipeline.deal_refresh_position" in celery_worker.log_path.read_text()


def test_a_killed_worker_is_brought_back_and_takes_new_tasks(celery_worker):
    team = team_create(slug="south", name="South Region")
    stage = team.stages.get(slug="inquiry")
    deal = Deal.objects.create(team=team, external_id="CRM-2")
    StageEvent.objects.create(
        team=team,
        deal=deal,
        stage=stage,
        occurred_at=timezone.now() - timedelta(days=2),
        event_id="e-1",
        origin=Origin.API,
    )
    first_pid = celery_worker.pid
    celery_worker.kill()
    assert not celery_worker.is_alive()

    celery_worker.start()
    assert celery_worker.is_alive() and celery_worker.pid != first_pid
    deal_refresh_position_task.delay(deal.id)
    row = wait_for(
        lambda: Deal.objects.filter(id=deal.id, current_stage=stage).first(),
        what="the restarted worker to refresh the deal",
    )
    assert row.status == DealStatus.OPEN
