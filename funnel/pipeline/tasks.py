"""The pipeline's Celery tasks: one-line wrappers that take ids and call one function.

Names are explicit (funnel.pipeline.*): the beat schedule and queue.task_enqueue use them.
"""

import logging

from celery import shared_task

from funnel.integrity import integrity_check
from funnel.models import Deal, Team
from funnel.pipeline.company import company_recompute
from funnel.pipeline.queue import TEAM_REBUILD, task_enqueue
from funnel.pipeline.request import (
    company_recompute_finished,
    company_recompute_started,
    team_recompute_started,
    teams_sweep,
)
from funnel.pipeline.run import team_rebuild, team_recompute
from funnel.positions import deal_refresh_position

logger = logging.getLogger(__name__)


@shared_task(name="funnel.pipeline.team_recompute")
def team_recompute_task(team_id: int) -> None:
    team_recompute_started(team_id=team_id)  # before the run: later writes queue one more
    team = Team.objects.filter(id=team_id).first()
    if team is not None:
        team_recompute(team=team)


@shared_task(name="funnel.pipeline.company_recompute")
def company_recompute_task() -> None:
    company_recompute_started()
    company_recompute()
    company_recompute_finished()


@shared_task(name="funnel.pipeline.teams_sweep")
def teams_sweep_task() -> list[int]:
    return teams_sweep()


@shared_task(name="funnel.pipeline.team_rebuild")
def team_rebuild_task(team_id: int) -> None:
    team = Team.objects.filter(id=team_id).first()
    if team is not None:
        team_rebuild(team=team)


@shared_task(name="funnel.pipeline.teams_rebuild")
def teams_rebuild_task() -> list[int]:
    """Nightly: one rebuild task per team, so one team's failure never stops the others."""
    team_ids = list(Team.objects.order_by("id").values_list("id", flat=True))
    for team_id in team_ids:
        try:
            task_enqueue(TEAM_REBUILD, team_id)
        except Exception:  # eager mode runs it here: log it and go on with the next team
            logger.exception("nightly rebuild of team %s failed", team_id)
    return team_ids


@shared_task(name="funnel.pipeline.integrity_check")
def integrity_check_task() -> dict[str, int]:
    return integrity_check().counts()


@shared_task(name="funnel.pipeline.deal_refresh_position")
def deal_refresh_position_task(deal_id: int) -> None:
    deal = Deal.objects.filter(id=deal_id).first()
    if deal is not None:
        deal_refresh_position(deal=deal)
