"""Reads for the API, always scoped to the team of the calling token."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404

from funnel.models import ApiToken, Deal, Stage, StageEvent, Team


def api_token_get_active(*, token: str) -> ApiToken | None:
    """The unrevoked token with this value, with its team; None for unknown or revoked tokens.

    Only hashes are stored and looked up, so the comparison never touches the secret itself.
    """
    if not token or len(token) > 200:
        return None
    return (
        ApiToken.objects.select_related("team")
        .filter(token_hash=ApiToken.hash_token(token), revoked_at__isnull=True)
        .first()
    )


def stages_for_team(*, team: Team) -> QuerySet[Stage]:
    """The stages that take events, in funnel order (retired and merged ones are history)."""
    return Stage.objects.filter(team=team).taking_events().order_by("position")


def deals_for_team(
    *,
    team: Team,
    status: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    updated_since: dt.datetime | None = None,
) -> QuerySet[Deal]:
    """The team's deals, filtered, in a stable order (first seen first) for paging."""
    deals = Deal.objects.filter(team=team).select_related("owner", "current_stage")
    if status:
        deals = deals.filter(status=status)
    if stage:
        deals = deals.filter(current_stage__slug=stage)
    if owner:
        deals = deals.filter(owner__email__iexact=owner.strip())
    if source is not None:
        deals = deals.filter(source=source)
    if updated_since is not None:
        deals = deals.filter(updated_at__gte=updated_since)
    return deals.order_by("id")


def deal_get_for_team(*, team: Team, external_id: str) -> Deal:
    """The team's deal with this CRM id; Http404 when missing, as when it is another team's."""
    deal = (
        Deal.objects.select_related("owner", "current_stage")
        .filter(team=team, external_id=external_id)
        .first()
    )
    if deal is None:
        raise Http404("No such deal.")
    return deal


def deal_event_history(*, deal: Deal) -> list[StageEvent]:
    return list(
        StageEvent.objects.filter(deal=deal).select_related("stage").order_by("occurred_at", "id")
    )
