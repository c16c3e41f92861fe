"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

from funnel.models import Deal
from funnel.services import deal_refresh_position


@shared_task
def deal_refresh_position_task(deal_id: int) -> None:
    deal = Deal.objects.filter(id=deal_id).first()
    if deal is not None:
        deal_refresh_position(deal=deal)
