"""Reads for CSV imports, scoped to what the user may see (managers of the team only)."""

from collections.abc import Collection

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from funnel.bulk import among
from funnel.imports.reopening import StoredClose
from funnel.models import Deal, DealStatus, ImportJob, Team
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


def deals_closed_among(*, team: Team, external_ids: Collection[str]) -> dict[str, StoredClose]:
    """The team's deals with these external ids that are closed (won or lost) now."""
    if not external_ids:
        return {}
    rows = Deal.objects.filter(
        team=team,
        external_id__in=among(list(external_ids), "text"),
        status__in=[DealStatus.WON, DealStatus.LOST],
        closed_at__isnull=False,
    ).values_list("external_id", "status", "closed_at")
    return {ext: StoredClose(status, closed_at) for ext, status, closed_at in rows}
