"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

from funnel.models import Deal
from funnel.services import deal_refresh_position


@shared_task
def deal_refresh_position_task(deal_id: int) -> None:
    deal = Deal.objects.filter(id=deal_id).first()
    if deal is not None:
        deal_refresh_position(deal=deal)


def team_metrics_recompute_schedule(*, team_id: int) -> None:
    """Ask for the team's metrics to be recomputed; called on commit after every write."""
    team_metrics_recompute.delay(team_id)


@shared_task
def team_metrics_recompute(team_id: int) -> None:
    # The recompute itself (snapshots, bottleneck status) is built in issue #4.
    return None
