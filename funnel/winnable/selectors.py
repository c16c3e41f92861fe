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
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from funnel.metrics.intervals import Rate, wilson_interval
from funnel.metrics.winnable import (
    MIN_DIFFERENCE,
    ValueCount,
    Winnability,
    WinnableFinding,
    winnable_findings,
)
from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    DealStatus,
    DefinitionVersion,
    Role,
    Team,
    WinnableCount,
    WinnableDimension,
)
from funnel.selectors import Action, TeamAccess, team_accesses_for_user, team_get_for_user

User = AbstractBaseUser | AnonymousUser

MIN_DEALS = 20
PERIODS: dict[str, int | None] = {"3": 3, "6": 6, "12": 12, "all": None}
DEFAULT_PERIOD = "12"
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


def p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


@dataclass(frozen=True)
class RatePercent:
    """A rate in percent for display; None where there is no estimate."""

    rate: float | None
    low: float
    high: float
    k: int
    n: int

    @classmethod
    def of(cls, r: Rate) -> RatePercent:
        rate = None if r.rate is None else 100 * r.rate
        return cls(rate, 100 * r.low, 100 * r.high, r.successes, r.n)

    # Formatted here rather than with template filters: the page has a hundred of these, and
    # f-strings cost a fraction of floatformat/intcomma.
    @property
    def text(self) -> str:
        return "–" if self.rate is None else f"{self.rate:.1f} %"

    @property
    def short(self) -> str:
        return "–" if self.rate is None else f"{self.rate:.0f} %"

    @property
    def interval(self) -> str:
        return f"{self.low:.1f}–{self.high:.1f}"

    @property
    def interval_short(self) -> str:
        return f"{self.low:.0f}–{self.high:.0f}"

    @property
    def n_text(self) -> str:
        return f"{self.n:,}"

    @property
    def k_text(self) -> str:
        return f"{self.k:,}"


@dataclass(frozen=True)
class ValueRow:
    """One characteristic value as the page shows it."""

    key: str  # characteristic slug (or DEAL_DEPARTMENT)
    name: str  # characteristic name
    label: str  # the value as people read it
    finding: WinnableFinding
    won_amount: Decimal

    @property
    def pct(self) -> RatePercent:
        return RatePercent.of(self.finding.win_rate)

    @property
    def rest_pct(self) -> RatePercent:
        return RatePercent.of(self.finding.rest_rate)

    @property
    def difference_points(self) -> float | None:
        d = self.finding.difference
        return None if d is None else 100 * d

    @property
    def difference_text(self) -> str:
        d = self.difference_points
        return "–" if d is None else f"{d:+.1f} pts"

    @property
    def won_amount_text(self) -> str:
        return f"{self.won_amount:,.0f}"

    @property
    def p_text(self) -> str:
        return p_text(self.finding.p_value)

    @property
    def adjusted_p_text(self) -> str:
        return p_text(self.finding.adjusted_p)

    @property
    def verdict_class(self) -> str:
        return {
            Winnability.MORE: "more",
            Winnability.LESS: "less",
            Winnability.NO_EVIDENCE: "none",
            Winnability.TOO_SMALL: "small",
            Winnability.TOO_FEW: "few",
        }[self.finding.verdict]


@dataclass(frozen=True)
class Coverage:
    key: str
    name: str
    observed: int  # closed deals in the period with a value for it
    closed: int  # all closed deals in the period
    definition_id: int | None = None

    @property
    def unobserved(self) -> int:
        return self.closed - self.observed

    @property
    def percent(self) -> float:
        return 100 * self.observed / self.closed if self.closed else 0.0


@dataclass
class WinnableAnalysis:
    overall: Rate
    won_amount: Decimal
    rows: list[ValueRow]  # sorted by strength of evidence
    coverage: list[Coverage]
    min_deals: int = MIN_DEALS
    min_difference: float = MIN_DIFFERENCE
    groups: list[tuple[Coverage, list[ValueRow]]] = field(default_factory=list)

    @property
    def min_difference_points(self) -> str:
        return f"{self.min_difference * 100:.0f}"

    @property
    def overall_pct(self) -> RatePercent:
        return RatePercent.of(self.overall)

    @property
    def verdicts(self) -> int:
        return sum(r.finding.verdict in (Winnability.MORE, Winnability.LESS) for r in self.rows)


def _value_label(kind: str | None, value: str) -> str:
    if kind == CharacteristicKind.YES_NO:
        return {"yes": "Yes", "no": "No"}.get(value, value)
    return value or "not recorded"


def _aggregates(team_ids: list[int], since: dt.date | None) -> list[dict]:
    rows = WinnableCount.objects.filter(team_id__in=team_ids).filter(
        Q(characteristic__isnull=True) | Q(characteristic__is_active=True)
    )
    if since is not None:
        rows = rows.filter(month__gte=since)
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
    min_deals: int = MIN_DEALS,
    min_difference: float = MIN_DIFFERENCE,
) -> WinnableAnalysis:
    """Every active characteristic's values, from the aggregates (one query)."""
    rows = [
        r for r in _aggregates(team_ids, since) if r["dimension"] != WinnableDimension.DEPARTMENT
    ]
    return _analysis(rows, None, min_deals, min_difference)


def department_analysis(
    *,
    team_ids: list[int],
    since: dt.date | None,
    min_deals: int = MIN_DEALS,
    min_difference: float = MIN_DIFFERENCE,
) -> tuple[WinnableAnalysis, WinnableAnalysis]:
    """Win rate and won value by department: as the deal record has it (Deal.department), and
    as reps observed it (the prospect-department characteristic). One query."""
    rows = _aggregates(team_ids, since)
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
