"""The pipeline's Celery tasks: one-line wrappers that take ids and call one function.

Names are explicit (funnel.pipeline.*): the beat schedule and queue.task_enqueue use them.
"""

from celery import shared_task

from funnel.integrity import integrity_check
from funnel.pipeline.company import company_recompute_queued
from funnel.pipeline.queue import queue_length
from funnel.pipeline.request import teams_sweep
from funnel.pipeline.run import team_rebuild_by_id, team_recompute_queued, teams_rebuild_enqueue
from funnel.positions import deal_refresh_position_by_id


@shared_task(name="funnel.pipeline.team_recompute")
def team_recompute_task(team_id: int) -> None:
    team_recompute_queued(team_id=team_id)


@shared_task(name="funnel.pipeline.company_recompute")
def company_recompute_task() -> None:
    company_recompute_queued()


@shared_task(name="funnel.pipeline.teams_sweep")
def teams_sweep_task() -> list[int]:
    # How many messages wait tells a lost request from a busy worker (see teams_sweep).
    return teams_sweep(waiting=queue_length())


@shared_task(name="funnel.pipeline.team_rebuild")
def team_rebuild_task(team_id: int) -> None:
    team_rebuild_by_id(team_id=team_id)


@shared_task(name="funnel.pipeline.teams_rebuild")
def teams_rebuild_task() -> list[int]:
    return teams_rebuild_enqueue()


@shared_task(name="funnel.pipeline.integrity_check")
def integrity_check_task() -> dict[str, int]:
    return integrity_check().counts()


@shared_task(name="funnel.pipeline.deal_refresh_position")
def deal_refresh_position_task(deal_id: int) -> None:
    deal_refresh_position_by_id(deal_id=deal_id)
