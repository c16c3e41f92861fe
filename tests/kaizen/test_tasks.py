"""The beat job: the Check runs when a cycle's Do window has ended."""

import datetime as dt
import logging

from django.conf import settings

from funnel.models import Stage
from kaizen.models import Cycle, Phase
from kaizen.services.cycles import cycle_commit, cycle_create
from kaizen.tasks import cycles_check_due_task
from tests.kaizen.support import BASELINE_ROWS, DO_ROWS, stage_weeks, weeks_before_now


def test_beat_schedule_runs_the_due_checks():
    entry = settings.CELERY_BEAT_SCHEDULE["cycles-check-due"]
    assert entry["task"] == "kaizen.tasks.cycles_check_due_task"


def test_task_checks_a_cycle_whose_do_window_ended(team, manager):
    stage = Stage.objects.get(team=team, slug="proposal")
    stage_weeks(stage, weeks_before_now(17), BASELINE_ROWS + DO_ROWS)
    start = weeks_before_now(4)
    cycle = cycle_create(
        team=team,
        by=manager,
        title="Review calls",
        stage=stage,
        metric="conversion",
        problem="p",
        target_condition="t",
        hypothesis="h",
        predicted_direction="up",
        predicted_size=5.0,
        countermeasure="c",
        do_start=start,
        do_end=start + dt.timedelta(days=27),
    )
    cycle_commit(cycle=cycle, by=manager)
    assert cycles_check_due_task.delay().get() == [cycle.id]
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CHECK
    assert cycle.check_result["enough_evidence"] is True


def test_one_failing_check_does_not_stop_the_others(team, other_team, manager, caplog):
    stage = Stage.objects.get(team=team, slug="proposal")
    stage_weeks(stage, weeks_before_now(17), BASELINE_ROWS + DO_ROWS)
    start = weeks_before_now(4)
    window = {"do_start": start, "do_end": start + dt.timedelta(days=27)}
    plan = {
        "stage": stage,
        "metric": "conversion",
        "problem": "p",
        "target_condition": "t",
        "hypothesis": "h",
        "predicted_direction": "up",
        "predicted_size": 5.0,
        "countermeasure": "c",
    }
    # In Do without the baseline its commit froze: damaged data, its Check cannot run.
    broken = Cycle.objects.create(
        team=other_team, owner=manager, title="Damaged", phase=Phase.DO, **window
    )
    cycle = cycle_create(team=team, by=manager, title="Review calls", **plan, **window)
    cycle_commit(cycle=cycle, by=manager)
    with caplog.at_level(logging.INFO, logger="kaizen.services.cycles"):
        assert cycles_check_due_task.delay().get() == [cycle.id]
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CHECK
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.getMessage() == f"cycle check team=south cycle={broken.id} failed"
    assert failure.exc_info is not None
