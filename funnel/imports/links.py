"""Where a finished import leads: the team's dashboard, funnel and winnable pages, with the
period set to the data's horizon (the newest event the file held, else the horizon the team's
last recompute stored), so a history that stopped in 2023 opens on 2023, not on an empty today."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from funnel.models import BottleneckStatus, ImportJob
from funnel.periods import horizon_from_figures


def import_horizon(*, job: ImportJob) -> dt.date | None:
    newest = (job.summary or {}).get("newest_event")
    if newest:
        return dt.date.fromisoformat(newest)
    latest = BottleneckStatus.objects.filter(team=job.team).order_by("-computed_at", "-id").first()
    return horizon_from_figures(latest.figures) if latest else None


def import_result_links(*, job: ImportJob) -> dict:
    """{"as_of": date or None, "pages": [(label, url)]}."""
    as_of = import_horizon(job=job)
    query = f"?as_of={as_of.isoformat()}" if as_of else ""
    slug = job.team.slug
    pages = [
        ("Dashboard", reverse("team_dashboard", args=[slug]) + query),
        # The funnel is the dashboard's value stream, stage by stage.
        ("Funnel", reverse("team_dashboard", args=[slug]) + query + "#vsm-title"),
        ("What makes deals winnable", reverse("winnable_team", args=[slug]) + query),
    ]
    return {"as_of": as_of, "pages": pages}
