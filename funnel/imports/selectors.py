"""Reads for CSV imports, scoped to what the user may see (managers of the team only)."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from funnel.models import ImportJob, Team
from funnel.selectors import Action, TeamAccess, team_get_for_user


def import_jobs_for_team(*, team: Team, limit: int = 50) -> QuerySet[ImportJob]:
    # The file's bytes stay in the database; a list never needs them.
    return (
        ImportJob.objects.filter(team=team)
        .select_related("uploaded_by")
        .defer("content", "errors")
        .order_by("-created_at")[:limit]
    )


def import_job_get_for_user(
    *, user: AbstractBaseUser, slug: str, job_id: int, with_content: bool = False
) -> tuple[ImportJob, TeamAccess]:
    """A job of a team the user manages; 404 for outsiders and missing ids alike, 403 for
    members who may not import."""
    access = team_get_for_user(user=user, slug=slug, action=Action.MANAGE)
    jobs = ImportJob.objects.select_related("team", "uploaded_by")
    if not with_content:
        jobs = jobs.defer("content")
    job = jobs.filter(team=access.team, id=job_id).first()
    if job is None:
        raise Http404("No such import.")
    return job, access
