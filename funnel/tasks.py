"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

from funnel.models import Deal, RecomputeState, Team
from funnel.passages import team_flow_rebuild
from funnel.recompute import team_recompute, team_recompute_request, teams_sweep
from funnel.services import deal_refresh_position


@shared_task
def deal_refresh_position_task(deal_id: int) -> None:
    deal = Deal.objects.filter(id=deal_id).first()
    if deal is not None:
        deal_refresh_position(deal=deal)


def team_metrics_recompute_schedule(*, team_id: int) -> None:
    """Ask for the team's metrics to be recomputed; called on commit after every write."""
    team_recompute_request(team_id=team_id)


@shared_task
def team_metrics_recompute(team_id: int) -> None:
    # Clear the flag before the run: writes from here on enqueue exactly one trailing run.
    RecomputeState.objects.filter(team_id=team_id).update(queued=False)
    team = Team.objects.filter(id=team_id).first()
    if team is not None:
        team_recompute(team=team)


@shared_task
def teams_sweep_task() -> None:
    teams_sweep()


@shared_task
def teams_full_rebuild_task() -> None:
    """Nightly: re-derive every team's passages and counts from the log, then recompute."""
    for team in Team.objects.all():
        team_flow_rebuild(team=team)
        team_recompute(team=team, winnable=True)


@shared_task
def import_job_run_task(job_id: int) -> None:
    """Import a validated CSV job (see funnel.imports.run.import_job_run)."""
    from funnel.imports.run import import_job_run
    from funnel.models import ImportJob

    job = ImportJob.objects.select_related("team", "uploaded_by").filter(id=job_id).first()
    if job is not None:
        import_job_run(job=job)
