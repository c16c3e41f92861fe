"""The stale-deal rule as the pipeline applies it: which rule is in force, the as-of moment it
is judged at, and how many open deals the figures left out or counted as lost by it.

The rebuild fixes the cut (N and the as-of) and records it on the team's RecomputeState; the
drain derives every deal against that same cut until the next rebuild, so the passages, the
StageFlow counts and the counts stated beside every rate agree exactly.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from funnel.metrics.accounting import StageWeek, week_start
from funnel.metrics.edges import data_horizon
from funnel.metrics.stale import StaleCut
from funnel.models import Deal, DealStatus, RecomputeState, StaleRule, Team


def stale_rule_in_force(*, team: Team, today: dt.date | None = None) -> StaleRule | None:
    """The team's latest rule version whose effective date has come; None: never set (off)."""
    today = today or timezone.localdate()
    return (
        StaleRule.objects.filter(team=team, effective_from__lte=today).order_by("-number").first()
    )


def stale_as_of(*, newest_event_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The moment staleness is judged at: now while data arrives; for a history whose data
    stopped, the start of the week of its newest event (the data horizon, as the verdict takes
    it), so an export's deals do not all go stale just because time passed since it."""
    if newest_event_at is None:
        return now
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    newest_week = week_start(newest_event_at.astimezone(zone).date())
    horizon = data_horizon([StageWeek(0, newest_week, entered=1)], today=now.date())
    if horizon is None:
        return now
    return dt.datetime.combine(horizon, dt.time(), tzinfo=zone)


def team_stale_cut(*, team: Team, now: dt.datetime) -> StaleCut | None:
    """The cut a rebuild derives the team's passages under; None when the rule is off."""
    rule = stale_rule_in_force(team=team, today=timezone.localdate(now))
    if rule is None or rule.days is None:
        return None
    newest = Deal.objects.filter(team=team).aggregate(newest=Max("last_event_at"))["newest"]
    return StaleCut(days=rule.days, as_of=stale_as_of(newest_event_at=newest, now=now))


def stale_cut_of(state: RecomputeState | None) -> StaleCut | None:
    """The cut the team's stored passages were derived under (recorded by the last rebuild)."""
    if state is None or state.stale_days is None or state.stale_as_of is None:
        return None
    return StaleCut(days=state.stale_days, as_of=state.stale_as_of)


def open_deals_figures(*, team: Team, cut: StaleCut | None) -> dict:
    """How many open deals the rates left out (still open, censored) and how many they counted
    as lost by the stale rule, for the verdict's figures."""
    deals = Deal.objects.filter(team=team, status=DealStatus.OPEN)
    if cut is None:
        total, stale = deals.count(), 0
    else:
        counts = deals.aggregate(
            total=Count("id"), stale=Count("id", filter=Q(last_event_at__lt=cut.cutoff))
        )
        total, stale = counts["total"], counts["stale"]
    return open_deals_counted(total=total, stale=stale, cut=cut)


def open_deals_counted(*, total: int, stale: int, cut: StaleCut | None) -> dict:
    """open_deals_figures from the counts (the recompute counts them with the ages)."""
    return {
        "open_left_out": total - stale,
        "stale_counted": stale,
        "stale_days": cut.days if cut else None,
        "stale_as_of": cut.as_of.date().isoformat() if cut else None,
    }
