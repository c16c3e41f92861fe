"""Reads for the winnable analysis. They read the WinnableCount aggregates only (never the
observation log), so a request costs the same for 1,000 or 100,000 closed deals.

Who is compared with whom: a value's "rest" is the closed deals OBSERVED for the same
characteristic with another value. Closed deals never observed for it are left out of that
comparison and shown as the characteristic's coverage instead. Counting them in the rest would
compare "recorded" with "not recorded": deals lost early are the ones nobody recorded anything on,
so every recorded value would look more winnable than the rest, and the analysis would claim
effects that are only recording habits.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.http import Http404

from funnel.metrics.intervals import wilson_interval
from funnel.metrics.winnable import MIN_DIFFERENCE, ValueCount, winnable_findings
from funnel.models import (
    BottleneckStatus,
    Characteristic,
    CharacteristicKind,
    Deal,
    DealStatus,
    DefinitionVersion,
    RecomputeState,
    Role,
    Team,
    WinnableCount,
    WinnableDimension,
)
from funnel.periods import horizon_from_figures
from funnel.selectors import Action, TeamAccess, team_accesses_for_user, team_get_for_user
from funnel.winnable.analysis import MIN_DEALS, Coverage, ValueRow, WinnableAnalysis

User = AbstractBaseUser | AnonymousUser

PERIODS: dict[str, int | None] = {"3": 3, "6": 6, "12": 12, "all": None}
DEFAULT_PERIOD = "12"
# The counts are kept per close month: a window of weeks reads as the months it spans.
WINDOW_MONTHS: dict[int | None, int | None] = {13: 3, 26: 6, 52: 12, None: None}
LEGACY_WINDOWS = {"3": "13", "6": "26", "12": "52", "all": "all"}  # the old ?period= values
DEPARTMENT_SLUG = "prospect-department"
DEAL_DEPARTMENT = "deal-department"  # the key of Deal.department in findings


def winnable_access_for_user(*, user: User, slug: str) -> TeamAccess:
    """A team's analysis: managers and executives; reps 403, outsiders 404."""
    access = team_get_for_user(user=user, slug=slug)
    if access.role == Role.REP:
        raise PermissionDenied("The analysis is for managers and executives.")
    return access


def winnable_teams_for_user(*, user: User) -> list[Team]:
    """The company-wide view: executives only (it spans every team)."""
    accesses = team_accesses_for_user(user=user)
    if not any(a.role == Role.EXECUTIVE for a in accesses):
        raise PermissionDenied("The company-wide analysis is for executives.")
    return sorted((a.team for a in accesses), key=lambda t: t.name)


def period_start(period: str, today: dt.date) -> dt.date | None:
    """First close month inside the period: "last 3 months" is this month and the two before."""
    months = PERIODS.get(period)
    if months is None:
        return None
    index = today.year * 12 + today.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def winnable_months(*, as_of: dt.date, window: int | None) -> tuple[dt.date | None, dt.date]:
    """The close months a period reads: the months of the window ending with the month of
    `as_of`, in full (first month, first month after), or every month up to it."""
    until = dt.date(as_of.year + as_of.month // 12, as_of.month % 12 + 1, 1)
    months = WINDOW_MONTHS.get(window)
    return (period_start(str(months), as_of) if months else None), until


def teams_data_horizon(*, team_ids: list[int]) -> dt.date | None:
    """Where the teams' data stops, from their latest verdicts: None while any team's data
    arrives (the default is then today), else the latest of their horizons."""
    latest = (
        BottleneckStatus.objects.filter(team=OuterRef("team"))
        .order_by("-computed_at", "-id")
        .values("id")[:1]
    )
    figures = list(
        BottleneckStatus.objects.filter(team_id__in=team_ids, id=Subquery(latest)).values_list(
            "figures", flat=True
        )
    )
    horizons = [horizon_from_figures(f) for f in figures]
    if not horizons or None in horizons:
        return None
    return max(horizons)


def _value_label(kind: str | None, value: str) -> str:
    if kind == CharacteristicKind.YES_NO:
        return {"yes": "Yes", "no": "No"}.get(value, value)
    return value or "not recorded"


def _aggregates(
    team_ids: list[int], since: dt.date | None, until: dt.date | None = None
) -> list[dict]:
    rows = WinnableCount.objects.filter(team_id__in=team_ids).filter(
        Q(characteristic__isnull=True) | Q(characteristic__is_active=True)
    )
    if since is not None:
        rows = rows.filter(month__gte=since)
    if until is not None:
        rows = rows.filter(month__lt=until)
    # Characteristics are per team; the company-wide view pools them by slug.
    return list(
        rows.values("dimension", "characteristic__slug", "value")
        .annotate(
            closed=Sum("closed"),
            won=Sum("won"),
            amount=Sum("won_amount"),
            name=Max("characteristic__name"),
            kind=Max("characteristic__kind"),
            position=Min("characteristic__position"),
            definition_id=Min("characteristic__definition_id"),
        )
        .order_by()
    )


def _analysis(
    rows: list[dict], keys: set[str] | None, min_deals: int, min_difference: float
) -> WinnableAnalysis:
    """Findings for the characteristic rows (restricted to `keys` when given)."""
    totals = [r for r in rows if r["dimension"] == WinnableDimension.ALL]
    closed = sum(r["closed"] for r in totals)
    won = sum(r["won"] for r in totals)
    amount = sum((r["amount"] or Decimal(0) for r in totals), Decimal(0))
    values = [
        r
        for r in rows
        if r["dimension"] != WinnableDimension.ALL
        and (keys is None or _key(r) in keys)
        and r["value"] != ""
    ]
    findings = winnable_findings(
        [ValueCount(_key(r), r["value"], r["closed"], r["won"]) for r in values],
        min_deals=min_deals,
        min_difference=min_difference,
    )
    meta = {(_key(r), r["value"]): r for r in values}
    out = []
    for f in findings:
        r = meta[f.characteristic, f.value]
        out.append(
            ValueRow(
                key=f.characteristic,
                name=r["name"] or "Department (deal record)",
                label=_value_label(r["kind"], f.value),
                finding=f,
                won_amount=r["amount"] or Decimal(0),
                kind=r["kind"] or "",
            )
        )
    observed: dict[str, int] = defaultdict(int)
    info: dict[str, dict] = {}
    for r in values:
        observed[_key(r)] += r["closed"]
        info.setdefault(_key(r), r)
    coverage = [
        Coverage(
            key=key,
            name=info[key]["name"] or "Department (deal record)",
            observed=observed[key],
            closed=closed,
            definition_id=info[key]["definition_id"],
        )
        for key in sorted(info, key=lambda k: (info[k]["position"] or 0, info[k]["name"] or ""))
    ]
    analysis = WinnableAnalysis(
        overall=wilson_interval(won, closed),
        won_amount=amount,
        rows=out,
        coverage=coverage,
        min_deals=min_deals,
        min_difference=min_difference,
    )
    analysis.groups = _groups(analysis)
    return analysis


def _key(row: dict) -> str:
    return row["characteristic__slug"] or DEAL_DEPARTMENT


def _groups(analysis: WinnableAnalysis) -> list[tuple[Coverage, list[ValueRow]]]:
    """Values grouped by characteristic for the chart: the characteristic with the strongest
    evidence first, its values by win rate."""
    by_key: dict[str, list[ValueRow]] = defaultdict(list)
    for row in analysis.rows:  # already sorted by evidence: first seen = strongest
        by_key[row.key].append(row)
    coverage = {c.key: c for c in analysis.coverage}
    return [
        (
            coverage[key],
            sorted(rows, key=lambda r: -(r.finding.win_rate.rate or 0.0)),
        )
        for key, rows in by_key.items()
    ]


def winnable_analysis(
    *,
    team_ids: list[int],
    since: dt.date | None,
    until: dt.date | None = None,
    min_deals: int = MIN_DEALS,
    min_difference: float = MIN_DIFFERENCE,
) -> WinnableAnalysis:
    """Every active characteristic's values closed in [since, until), from the aggregates
    (one query)."""
    rows = [
        r
        for r in _aggregates(team_ids, since, until)
        if r["dimension"] != WinnableDimension.DEPARTMENT
    ]
    return _analysis(rows, None, min_deals, min_difference)


def department_analysis(
    *,
    team_ids: list[int],
    since: dt.date | None,
    until: dt.date | None = None,
    min_deals: int = MIN_DEALS,
    min_difference: float = MIN_DIFFERENCE,
) -> tuple[WinnableAnalysis, WinnableAnalysis]:
    """Win rate and won value by department: as the deal record has it (Deal.department), and
    as reps observed it (the prospect-department characteristic). One query."""
    rows = _aggregates(team_ids, since, until)
    totals = [r for r in rows if r["dimension"] == WinnableDimension.ALL]
    record = _analysis(
        totals + [r for r in rows if r["dimension"] == WinnableDimension.DEPARTMENT],
        {DEAL_DEPARTMENT},
        min_deals,
        min_difference,
    )
    observed = _analysis(
        totals + [r for r in rows if r["dimension"] == WinnableDimension.CHARACTERISTIC],
        {DEPARTMENT_SLUG},
        min_deals,
        min_difference,
    )
    return record, observed


def won_amount_by_currency(
    *, team_ids: list[int], since: dt.date | None, until: dt.date | None
) -> list[tuple[str, Decimal]]:
    """Won value per currency of the teams, for a company view whose teams sell in different
    currencies: [("EUR", 120000), ("USD", 2500000)]."""
    rows = WinnableCount.objects.filter(team_id__in=team_ids, dimension=WinnableDimension.ALL)
    if since is not None:
        rows = rows.filter(month__gte=since)
    if until is not None:
        rows = rows.filter(month__lt=until)
    return [
        (currency or "USD", amount or Decimal(0))
        for currency, amount in rows.values("team__currency")
        .annotate(amount=Sum("won_amount"))
        .order_by("team__currency")
        .values_list("team__currency", "amount")
    ]


def closed_deals_all_time(*, team_ids: list[int]) -> int:
    """For the hint when the chosen period holds no closed deals."""
    return (
        WinnableCount.objects.filter(
            team_id__in=team_ids, dimension=WinnableDimension.ALL
        ).aggregate(n=Sum("closed"))["n"]
        or 0
    )


def characteristics_for_team(*, team: Team) -> QuerySet[Characteristic]:
    """With `definition.versions_latest_first`, so the list shows the current meaning."""
    return (
        Characteristic.objects.filter(team=team)
        .select_related("definition")
        .prefetch_related(
            Prefetch(
                "definition__versions",
                queryset=DefinitionVersion.objects.order_by("-number"),
                to_attr="versions_latest_first",
            )
        )
        .order_by("-is_active", "position", "name")
    )


def characteristic_observed_counts(*, team: Team) -> dict[int, int]:
    """Closed deals (all time) with a value for each characteristic, from the aggregates."""
    return dict(
        WinnableCount.objects.filter(team=team, dimension=WinnableDimension.CHARACTERISTIC)
        .values("characteristic_id")
        .annotate(n=Sum("closed"))
        .order_by()
        .values_list("characteristic_id", "n")
    )


def characteristic_get_for_user(
    *, user: User, slug: str, characteristic_id: int, action: Action
) -> tuple[Characteristic, TeamAccess]:
    """A team's characteristic and the user's access; 404 for outsiders and unknown ids alike."""
    access = team_get_for_user(user=user, slug=slug, action=action)
    characteristic = Characteristic.objects.filter(team=access.team, id=characteristic_id).first()
    if characteristic is None:
        raise Http404("No such characteristic.")
    return characteristic, access


def open_deals_count(*, team_ids: list[int]) -> int:
    """Open deals: left out of the analysis until they close (stated on the page)."""
    return Deal.objects.filter(team_id__in=team_ids, status=DealStatus.OPEN).count()


def open_deals_stale(*, team_ids: list[int]) -> tuple[int, list[int]]:
    """How many of the open deals the teams' stale rules count as lost in the funnel (by the
    cut their passages were derived under), and the rules' days. This analysis reads recorded
    outcomes only, so the page says these are left out here too."""
    cuts = list(
        RecomputeState.objects.filter(
            team_id__in=team_ids, stale_days__isnull=False, stale_as_of__isnull=False
        ).values_list("team_id", "stale_days", "stale_as_of")
    )
    if not cuts:
        return 0, []
    stale = Q()
    for team_id, days, as_of in cuts:
        stale |= Q(team_id=team_id, last_event_at__lt=as_of - dt.timedelta(days=days))
    count = Deal.objects.filter(stale, status=DealStatus.OPEN).count()
    return count, sorted({days for _, days, _ in cuts})
