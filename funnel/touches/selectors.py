"""Reads: a team's tactics and their rules, a deal's recent touches, and the counts behind the
tactics page (from the aggregates the recompute keeps, never the raw touches)."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncWeek

from funnel.models import (
    Deal,
    Outcome,
    ProspectWeekCount,
    ResponseRule,
    Stage,
    StageEvent,
    Station,
    Tactic,
    Team,
    Touch,
    TouchWeekCount,
)

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


NO_STAGE = "none"  # the station filter's value for touches made before any stage
_SETTINGS_VERSION = "tactics-settings:{}"


def tactics_settings_version(*, team_id: int) -> int:
    """Bumped when a manager changes a tactic (its name, cost, use): the tactics page's cached
    results name it, so they are keyed on this too (funnel.touches.views)."""
    return cache.get(_SETTINGS_VERSION.format(team_id), 0)


def tactics_settings_changed(*, team_id: int) -> None:
    cache.set(_SETTINGS_VERSION.format(team_id), time.time_ns(), None)


@dataclass
class TacticCounts:
    tactic: Tactic
    touches: int = 0
    responses: int = 0
    answered_deals: int = 0  # deals with at least one response to this tactic
    answered_deals_won: int = 0
    deal_answers: int = 0  # responses on touches of a deal
    answers_advanced: int = 0  # of those, on deals that later reached a later stage or won


@dataclass
class TouchCounts:
    """What the tactics page needs: per tactic, and prospects by their number of touches
    (k -> prospects with at least k touches, how many of them answered; k = 1 ... 5)."""

    tactics: list[TacticCounts] = field(default_factory=list)
    at_least: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def prospects(self) -> int:
        return self.at_least.get(1, (0, 0))[0]


def tactics_stations(*, team: Team) -> list[str]:
    """The station filter's choices: '' (no stage yet) and the stations of the team's stages,
    in the funnel's order."""
    used = set(Stage.objects.filter(team=team).in_funnel().values_list("station", flat=True))
    return ["", *(s for s in Station.values if s in used)]


def tactic_counts_for_team(
    *,
    team: Team,
    since: dt.date | None = None,
    station: str | None = None,
    tactics: list[Tactic] | None = None,
) -> TouchCounts:
    """The tactics page's counts for touches in the weeks from the one starting on `since`
    (a Monday; None: all) to the latest touch, in one station ('' = no stage yet; None: all),
    read from the counts the recompute keeps (funnel.pipeline.tactics): two grouped queries,
    whatever the number of touches.
    `tactics`: the team's tactics (all, retired too) when the caller has read them already."""
    touch_weeks = TouchWeekCount.objects.filter(team=team)
    prospect_weeks = ProspectWeekCount.objects.filter(team=team)
    if since is not None:
        touch_weeks = touch_weeks.filter(week__gte=since)
        prospect_weeks = prospect_weeks.filter(week__gte=since)
    if station is None:
        deals, won, prospects, answered = (
            "deals_answered_any",
            "deals_answered_any_won",
            "prospects_any",
            "answered_any",
        )
    else:
        touch_weeks = touch_weeks.filter(station=station)
        prospect_weeks = prospect_weeks.filter(station=station)
        deals, won, prospects, answered = (
            "deals_answered",
            "deals_answered_won",
            "prospects",
            "answered",
        )
    sums = {
        row["tactic_id"]: row
        for row in touch_weeks.values("tactic_id")
        .annotate(
            n=Sum("touches"),
            k=Sum("answers"),
            on_deals=Sum("deal_answers"),
            advanced=Sum("answers_advanced"),
            deals=Sum(deals),
            won=Sum(won),
        )
        .order_by()
    }
    result = TouchCounts()
    if tactics is None:
        tactics = tactics_for_team(team=team, active_only=False)
    for tactic in tactics:
        row = sums.get(tactic.id)
        if row and row["n"]:
            result.tactics.append(
                TacticCounts(
                    tactic=tactic,
                    touches=row["n"],
                    responses=row["k"],
                    answered_deals=row["deals"],
                    answered_deals_won=row["won"],
                    deal_answers=row["on_deals"],
                    answers_advanced=row["advanced"],
                )
            )
    by_k = prospect_weeks.values("at_least").annotate(p=Sum(prospects), a=Sum(answered))
    result.at_least = {row["at_least"]: (row["p"], row["a"]) for row in by_k.order_by()}
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


def tactic_rule_at(*, tactic: Tactic, moment: dt.datetime | None = None) -> ResponseRule | None:
    """The version of the tactic's response rule in force at `moment` (now if None): the last
    one made by then. A tactic gets its first version when it is made, so a moment before that
    (a cycle dated back, as the demo's) reads the first. None for a tactic with no rule at all:
    then only recorded responses count."""
    rules = tactic.response_rules.order_by("-number")
    if moment is None:
        return rules.first()
    return rules.filter(created_at__lte=moment).first() or rules.last()


def tactic_weekly_counts(
    *,
    tactic: Tactic,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    rule_at: dt.datetime | None = None,
) -> list[TacticWeek]:
    """Week by week, from the week of the first touch to that of the last (weeks with no touch
    included, as zeros), answers counted by the tactic's rule in force at `rule_at` (now if
    None; a PDCA cycle passes its commit, so that a rule changed during Do does not mix two
    rules in one comparison)."""
    rule = tactic_rule_at(tactic=tactic, moment=rule_at)
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
