"""Celery tasks of the kaizen app: thin wrappers around one service each."""

from celery import shared_task

from kaizen.services.check_act import cycles_check_due


@shared_task
def cycles_check_due_task() -> list[int]:
    """Beat: run the Check of every cycle whose Do window has ended."""
    return cycles_check_due()
