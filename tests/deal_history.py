"""Deals built from a stage-event history, the way real deals come to exist, for view tests.

The deal's cached position (status, current stage, closed_at) is derived by the real service
from the events, so the figures on the pages are computed from the same truth as in production.
"""

from datetime import timedelta

from django.utils import timezone

from funnel.models import Deal, Origin, Stage, StageEvent, Team
from funnel.positions import deal_refresh_position


def deal_with_history(
    *,
    team: Team,
    external_id: str,
    stages: list[str],
    owner=None,
    outcome: str = "",
    closed_days_ago: int = 5,
    amount: int | None = None,
) -> Deal:
    """A deal that went through `stages` (slugs, in order), then `outcome` ("won"/"lost") that
    many days ago, or is still open in the last stage when no outcome is given."""
    deal = Deal.objects.create(
        team=team,
        external_id=external_id,
        owner=owner,
        account=f"Account {external_id}",
        amount=amount,
    )
    end = timezone.now() - timedelta(days=closed_days_ago)
    steps = len(stages) + (1 if outcome else 0)
    stage_by_slug = {s.slug: s for s in Stage.objects.filter(team=team)}
    for i, slug in enumerate(stages):
        StageEvent.objects.create(
            team=team,
            deal=deal,
            stage=stage_by_slug[slug],
            occurred_at=end - timedelta(days=3 * (steps - 1 - i)),
            event_id=f"{external_id}-{i}",
            origin=Origin.UI,
        )
    if outcome:
        StageEvent.objects.create(
            team=team,
            deal=deal,
            outcome=outcome,
            occurred_at=end,
            event_id=f"{external_id}-end",
            origin=Origin.UI,
        )
    return deal_refresh_position(deal=deal)
