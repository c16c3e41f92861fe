"""Reads for the stage editor."""

from __future__ import annotations

from funnel.models import Stage, Team


def stages_for_editor(*, team: Team) -> list[Stage]:
    """Every stage of the team in funnel order (merged ones last), with its definition and
    its merge target, in one query."""
    rows = list(
        Stage.objects.filter(team=team)
        .select_related("definition", "merged_into")
        .order_by("position")
    )
    return [s for s in rows if s.merged_into_id is None] + [
        s for s in rows if s.merged_into_id is not None
    ]


def stage_get_for_team(*, team: Team, slug: str) -> Stage | None:
    return Stage.objects.filter(team=team, slug=slug).first()
