"""Reads: a team's tactics and their rules, a deal's recent touches, and the counts behind the
tactics page (one grouped query per tactic)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncWeek

from funnel.models import Deal, DealStatus, Outcome, ResponseRule, StageEvent, Tactic, Team, Touch

RECENT_TOUCHES = 8


def tactics_for_team(*, team: Team, active_only: bool = True) -> list[Tactic]:
    """The team's tactics in their order, each with `rule`: its response rule in force."""
    tactics = Tactic.objects.filter(team=team)
    if active_only:
        tactics = tactics.filter(is_active=True)
    latest_first = Prefetch(
        "response_rules",
        queryset=ResponseRule.objects.order_by("-number"),
        to_attr="rules_latest_first",
    )
    tactics = list(
        tactics.select_related("definition").prefetch_related(latest_first).order_by("position")
    )
    for t in tactics:
        t.rule = t.rules_latest_first[0] if t.rules_latest_first else None
    return tactics


def touch_get_for_deal(*, deal: Deal, touch_id: int) -> Touch | None:
    return Touch.objects.filter(deal=deal, pk=touch_id).select_related("tactic").first()


def touch_response_q(window_days: int | None) -> tuple[Q, Exists | None]:
    """What counts as a response under a rule: recorded yes; or, not recorded either way, the
    deal entered a stage or was won within the window after the touch. Returns the condition
    and the Exists it reads (to annotate as `moved_on`), or None without a window."""
    if window_days is None:
        return Q(responded=True), None
    until = ExpressionWrapper(
        OuterRef("occurred_at") + dt.timedelta(days=window_days), output_field=DateTimeField()
    )
    moved_on = Exists(
        StageEvent.objects.filter(
            deal_id=OuterRef("deal_id"),
            occurred_at__gt=OuterRef("occurred_at"),
            occurred_at__lte=until,
        ).filter(Q(stage__isnull=False) | Q(outcome=Outcome.WON))
    )
    return Q(responded=True) | Q(responded__isnull=True, moved_on=True), moved_on


@dataclass
class TacticCounts:
    tactic: Tactic
    touches: int = 0
    responses: int = 0
    answered_deals: int = 0  # deals with at least one response to this tactic
    answered_deals_won: int = 0


@dataclass
class TouchCounts:
    """What the tactics page needs: per tactic, and per prospect (touches, responded)."""

    tactics: list[TacticCounts] = field(default_factory=list)
    prospects: list[tuple[int, bool]] = field(default_factory=list)
    last_at: dt.datetime | None = None


def touch_counts_for_team(
    *, team: Team, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> TouchCounts:
    """Touches and responses per tactic, and per prospect across tactics, for touches in
    [since, until). A prospect is a deal, or the sender's prospect id for touches without one."""
    touches = Touch.objects.filter(team=team)
    if since is not None:
        touches = touches.filter(occurred_at__gte=since)
    if until is not None:
        touches = touches.filter(occurred_at__lt=until)
    result = TouchCounts(last_at=touches.aggregate(last=Max("occurred_at"))["last"])
    per_prospect: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for tactic in tactics_for_team(team=team, active_only=False):
        condition, moved_on = touch_response_q(tactic.rule.window_days if tactic.rule else None)
        rows = touches.filter(tactic=tactic)
        if moved_on is not None:
            rows = rows.annotate(moved_on=moved_on)
        grouped = rows.values("deal_id", "prospect", "deal__status").annotate(
            n=Count("id"), r=Count("id", filter=condition)
        )
        counts = TacticCounts(tactic=tactic)
        for row in grouped.order_by():
            counts.touches += row["n"]
            counts.responses += row["r"]
            if row["r"] and row["deal_id"] is not None:
                counts.answered_deals += 1
                counts.answered_deals_won += row["deal__status"] == DealStatus.WON
            cell = per_prospect[(row["deal_id"], row["prospect"])]
            cell[0] += row["n"]
            cell[1] += row["r"]
        if counts.touches:
            result.tactics.append(counts)
    result.prospects = [(n, r > 0) for n, r in per_prospect.values()]
    return result


def touches_recent_for_team(*, team: Team) -> QuerySet[Touch]:
    return Touch.objects.filter(team=team).select_related("tactic", "deal").order_by("-id")


def touch_panel_for_deal(*, deal: Deal) -> dict:
    """What the deal page's touch panel shows: the team's tactic buttons, the recent touches
    and how many touches the deal had and how many were recorded as answered (two queries:
    the totals ride on the recent touches as subqueries)."""
    of_deal = Touch.objects.filter(deal_id=OuterRef("deal_id")).order_by().values("deal_id")
    touches = list(
        Touch.objects.filter(deal=deal)
        .select_related("tactic", "recorded_by")
        .annotate(
            deal_total=Subquery(of_deal.annotate(n=Count("id")).values("n")),
            deal_answered=Subquery(
                of_deal.filter(responded=True).annotate(n=Count("id")).values("n")
            ),
        )
        .order_by("-occurred_at", "-id")[:RECENT_TOUCHES]
    )
    return {
        "tactics": list(Tactic.objects.filter(team_id=deal.team_id, is_active=True)),
        "touches": touches,
        "touch_total": touches[0].deal_total if touches else 0,
        "touch_answered": (touches[0].deal_answered or 0) if touches else 0,
    }


def touches_horizon(*, team: Team) -> dt.datetime | None:
    """The team's latest touch: periods end there (an imported history stopped long ago)."""
    return Touch.objects.filter(team=team).aggregate(last=Max("occurred_at"))["last"]


@dataclass(frozen=True)
class TacticWeek:
    """One week (starting Monday, in the app's time zone) of a tactic: touches and answers,
    the series a PDCA cycle's XmR chart and Check would read for a tactic's answer rate."""

    week: dt.date
    touches: int
    responses: int

    @property
    def rate(self) -> float | None:
        return self.responses / self.touches if self.touches else None


def tactic_weekly_counts(
    *, tactic: Tactic, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[TacticWeek]:
    """Week by week, from the week of the first touch to that of the last (weeks with no touch
    included, as zeros), answers counted by the tactic's rule in force."""
    rule = tactic.response_rules.order_by("-number").first()
    condition, moved_on = touch_response_q(rule.window_days if rule else None)
    touches = Touch.objects.filter(tactic=tactic)
    if since is not None:
        touches = touches.filter(occurred_at__gte=since)
    if until is not None:
        touches = touches.filter(occurred_at__lt=until)
    if moved_on is not None:
        touches = touches.annotate(moved_on=moved_on)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    rows = (
        touches.annotate(week=TruncWeek("occurred_at", tzinfo=zone))
        .values("week")
        .annotate(n=Count("id"), k=Count("id", filter=condition))
        .order_by("week")
    )
    by_week = {_as_date(row["week"]): (row["n"], row["k"]) for row in rows}
    if not by_week:
        return []
    first, last = min(by_week), max(by_week)
    weeks = [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    return [TacticWeek(w, *by_week.get(w, (0, 0))) for w in weeks]


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
