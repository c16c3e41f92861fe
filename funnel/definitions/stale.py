"""The team's stale-deal rule: its versions (reads), a new version (write), and the proposal of
N from the team's own data for an imported history.

A change never rewrites a deal: it asks for a rebuild of the team's passages, which re-derives
every deal under the rule in force (funnel.pipeline.stale), so switching the rule off restores
the counts exactly.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from funnel.bulk import among
from funnel.metrics.stale import StaleProposal, stale_days_proposal
from funnel.models import (
    BottleneckStatus,
    Deal,
    DealStatus,
    ImportJob,
    StageEvent,
    StaleRule,
    Team,
)
from funnel.pipeline.request import team_rebuild_on_commit
from funnel.pipeline.stale import stale_rule_in_force

logger = logging.getLogger(__name__)

MAX_DAYS = 3650
PROPOSAL_DEALS = 20000  # the newest closed deals read for the proposal: plenty for a percentile


def rule_words(days: int | None) -> str:
    if days is None:
        return "Off: open deals stay open until an outcome is recorded"
    return f"An open deal with no event for {days} days counts as lost (stale)"


@dataclass(frozen=True)
class StaleRuleEntry:
    version: StaleRule
    before: int | None  # the previous version's N (None: off)
    first: bool


def stale_rule_history(*, team: Team) -> list[StaleRuleEntry]:
    """Every version, newest first, each with the value it replaced."""
    versions = list(StaleRule.objects.filter(team=team).select_related("author").order_by("number"))
    entries, before = [], None
    for i, version in enumerate(versions):
        entries.append(StaleRuleEntry(version=version, before=before, first=i == 0))
        before = version.days
    return entries[::-1]


def team_is_imported_history(*, team: Team) -> bool:
    """Whether the team's data is an imported history: it has a CSV import, or its data
    stopped (the verdict is judged as of its data horizon)."""
    if ImportJob.objects.filter(team=team).exists():
        return True
    latest = BottleneckStatus.objects.filter(team=team).order_by("-computed_at", "-id").first()
    return bool(latest and latest.figures.get("history_up_to"))


def stale_rule_proposal(*, team: Team) -> StaleProposal | None:
    """N from the gaps between consecutive events of the team's newest closed deals."""
    deal_ids = list(
        Deal.objects.filter(team=team, status__in=[DealStatus.WON, DealStatus.LOST])
        .order_by("-id")
        .values_list("id", flat=True)[:PROPOSAL_DEALS]
    )
    if not deal_ids:
        return None
    times: dict[int, list[dt.datetime]] = {}
    rows = (
        StageEvent.objects.filter(deal_id__in=among(deal_ids))
        .order_by("deal_id", "occurred_at", "id")
        .values_list("deal_id", "occurred_at")
    )
    for deal_id, occurred_at in rows:
        times.setdefault(deal_id, []).append(occurred_at)
    return stale_days_proposal(list(times.values()))


@transaction.atomic
def stale_rule_set(
    *,
    team: Team,
    days: int | None,
    by: AbstractBaseUser,
    effective_from: dt.date | None = None,
    note: str = "",
    proposed: bool = False,
) -> StaleRule:
    """A new version of the team's stale rule (None: off), then a rebuild of the team's
    passages once it commits, so every rate reads the deals under the new rule."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            {"days": f"Give a whole number of days from 1 to {MAX_DAYS}, or switch the rule off."}
        )
    Team.objects.select_for_update().filter(id=team.id).first()  # versions n+1, n+2 in turn
    current = StaleRule.objects.filter(team=team).order_by("-number").first()
    effective_from = effective_from or timezone.localdate()
    if current is None and days is None:
        raise ValidationError("Nothing changed: the rule is off already.")
    if current is not None and current.days == days:
        raise ValidationError(f"Nothing changed: the rule is already {rule_words(days).lower()}.")
    if current is not None and effective_from < current.effective_from:
        raise ValidationError(
            {
                "effective_from": "A new version cannot take effect before the current one "
                f"({current.effective_from:%d %b %Y})."
            }
        )
    number = (StaleRule.objects.filter(team=team).aggregate(n=Max("number"))["n"] or 0) + 1
    rule = StaleRule.objects.create(
        team=team,
        number=number,
        days=days,
        effective_from=effective_from,
        note=note.strip(),
        proposed=proposed,
        author=by,
    )
    team_rebuild_on_commit(team_id=team.id)
    logger.info(
        "stale rule team=%s version=%d days=%s (was %s) effective_from=%s by=%s",
        team.slug,
        number,
        days,
        current.days if current else None,
        effective_from,
        by.pk,
    )
    return rule


__all__ = [
    "StaleRuleEntry",
    "rule_words",
    "stale_rule_history",
    "stale_rule_in_force",
    "stale_rule_proposal",
    "stale_rule_set",
    "team_is_imported_history",
]
