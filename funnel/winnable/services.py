"""Writes for the winnable analysis: the aggregate recompute and the characteristics managers keep.

`team_winnable_recompute` rebuilds the team's WinnableCount rows from the observation log in a
few set-based queries. For each closed deal and characteristic it takes the LATEST observation
made at or before the deal closed (ties: the latest id, i.e. the later arrival), so a value
recorded after the outcome was known can never leak into the analysis.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone
from django.utils.text import slugify

from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    DealStatus,
    DefinitionVersion,
    Observation,
    OperationalDefinition,
    Team,
    WinnableCount,
    WinnableDimension,
)

logger = logging.getLogger(__name__)

CLOSED = (DealStatus.WON, DealStatus.LOST)

# Latest observation per (deal, characteristic) at or before the close: DISTINCT ON is the
# fastest form on PostgreSQL; other databases get the same rows through the ORM.
_LATEST_PG = """
WITH latest AS (
    SELECT DISTINCT ON (o.deal_id, o.characteristic_id)
           o.deal_id, o.characteristic_id, o.value
    FROM {obs} o JOIN {deal} d ON d.id = o.deal_id
    WHERE d.team_id = %s AND d.status IN ('won', 'lost') AND d.closed_at IS NOT NULL
      AND o.observed_at <= d.closed_at
    ORDER BY o.deal_id, o.characteristic_id, o.observed_at DESC, o.id DESC
)
SELECT l.characteristic_id, l.value,
       CAST(date_trunc('month', d.closed_at AT TIME ZONE 'UTC') AS date) AS month,
       COUNT(*), COUNT(*) FILTER (WHERE d.status = 'won'),
       COALESCE(SUM(d.amount) FILTER (WHERE d.status = 'won'), 0)
FROM latest l JOIN {deal} d ON d.id = l.deal_id
GROUP BY l.characteristic_id, l.value, month
"""

Cell = list  # [closed, won, won_amount]


def _month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    return dt.date.fromisoformat(str(value)[:10])


def _characteristic_cells(team: Team) -> dict[tuple[int, str, dt.date], Cell]:
    """[closed, won, won amount] by (characteristic, its latest value at the close, month)."""
    if connection.vendor == "postgresql":
        rows = _latest_value_counts_sql(team)
    else:
        rows = _latest_value_counts_orm(team)
    cells: dict[tuple[int, str, dt.date], Cell] = {}
    for characteristic_id, value, month, closed, won, amount in rows:
        cells[characteristic_id, value, _month(month)] = [
            int(closed),
            int(won or 0),
            Decimal(str(amount or 0)),
        ]
    return cells


def _latest_value_counts_sql(team: Team) -> list[tuple]:
    """(characteristic id, value, month, closed, won, won amount), counted by the database."""
    sql = _LATEST_PG.format(obs=Observation._meta.db_table, deal=Deal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [team.id])
        return cursor.fetchall()


def _latest_value_counts_orm(team: Team) -> list[tuple]:
    """The same rows through the ORM: the latest observations by a window, counted here."""
    latest = (
        Observation.objects.filter(
            deal__team=team,
            deal__status__in=CLOSED,
            deal__closed_at__isnull=False,
            observed_at__lte=F("deal__closed_at"),
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("deal_id"), F("characteristic_id")],
                order_by=[F("observed_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values_list(
            "characteristic_id", "value", "deal__closed_at", "deal__status", "deal__amount"
        )
    )
    counts: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0)])
    for characteristic_id, value, closed_at, status, amount in latest:
        cell = counts[characteristic_id, value, closed_at.astimezone(dt.UTC).date().replace(day=1)]
        cell[0] += 1
        if status == DealStatus.WON:
            cell[1] += 1
            cell[2] += amount or 0
    return [(*key, *cell) for key, cell in counts.items()]


def number_bins(values: dict[float, int]) -> list[float]:
    """Upper edges of (at most) four bins holding about a quarter of the deals each."""
    total = sum(values.values())
    edges: list[float] = []
    running = 0
    quarter = 1
    for number in sorted(values):
        running += values[number]
        while quarter < 4 and running >= total * quarter / 4:
            if not edges or edges[-1] != number:
                edges.append(number)
            quarter += 1
    return [e for e in edges if e != max(values)]


def number_bin_label(number: float, edges: list[float]) -> str:
    def fmt(x: float) -> str:
        return f"{x:g}"

    lower = None
    for edge in edges:
        if number <= edge:
            return f"≤ {fmt(edge)}" if lower is None else f"{fmt(lower)} – {fmt(edge)}"
        lower = edge
    return f"> {fmt(lower)}" if lower is not None else "all"


def _bin_numbers(cells: dict, number_ids: set[int]) -> dict:
    """Number characteristics are grouped into quartile bins: one value per distinct number
    would leave every value with too few deals to say anything."""
    if not number_ids:
        return cells
    spread: dict[int, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    for (cid, value, _), cell in cells.items():
        if cid in number_ids:
            spread[cid][float(value)] += cell[0]
    edges = {cid: number_bins(values) for cid, values in spread.items()}
    binned: dict = defaultdict(lambda: [0, 0, Decimal(0)])
    for (cid, value, month), cell in cells.items():
        label = number_bin_label(float(value), edges[cid]) if cid in number_ids else value
        target = binned[cid, label, month]
        for i in range(3):
            target[i] += cell[i]
    return binned


def _deal_cells(team: Team, field: str | None) -> dict[tuple[str, dt.date], Cell]:
    group = ["month"] + ([field] if field else [])
    rows = (
        Deal.objects.filter(team=team, status__in=CLOSED, closed_at__isnull=False)
        .annotate(month=TruncMonth("closed_at", tzinfo=dt.UTC))
        .values(*group)
        .annotate(
            n=Count("id"),
            k=Count("id", filter=Q(status=DealStatus.WON)),
            amount=Sum("amount", filter=Q(status=DealStatus.WON)),
        )
        .order_by()
    )
    return {
        (row[field] if field else "", _month(row["month"])): [
            row["n"],
            row["k"],
            row["amount"] or Decimal(0),
        ]
        for row in rows
    }


@transaction.atomic
def team_winnable_recompute(*, team: Team) -> int:
    """Replace the team's WinnableCount rows; returns how many were written. Idempotent."""
    kinds = dict(Characteristic.objects.filter(team=team).values_list("id", "kind"))
    number_ids = {cid for cid, kind in kinds.items() if kind == CharacteristicKind.NUMBER}
    cells = _characteristic_cells(team)
    # Observations of a characteristic that is not the team's (another team's, or gone: the
    # log keeps no database checks, see funnel.integrity) are left out.
    foreign = [key for key in cells if key[0] not in kinds]
    if foreign:
        logger.warning(
            "winnable team=%s: skipped the observations of %d closed deal(s) at a "
            "characteristic not of the team; manage.py integrity_check lists them",
            team.slug,
            sum(cells.pop(key)[0] for key in foreign),
        )
    cells = _bin_numbers(cells, number_ids)
    rows = [
        WinnableCount(
            team=team,
            dimension=WinnableDimension.CHARACTERISTIC,
            characteristic_id=cid,
            value=value,
            month=month,
            closed=c[0],
            won=c[1],
            won_amount=c[2],
        )
        for (cid, value, month), c in cells.items()
    ]
    by_department = _deal_cells(team, "department")
    # The totals are the departments' sums: one scan of the closed deals instead of two (each
    # took seconds at a million deals).
    totals: dict[tuple[str, dt.date], Cell] = defaultdict(lambda: [0, 0, Decimal(0)])
    for (_, month), cell in by_department.items():
        total = totals["", month]
        for i in range(3):
            total[i] += cell[i]
    for dimension, cells in (
        (WinnableDimension.DEPARTMENT, by_department),
        (WinnableDimension.ALL, totals),
    ):
        rows += [
            WinnableCount(
                team=team,
                dimension=dimension,
                value=value,
                month=month,
                closed=c[0],
                won=c[1],
                won_amount=c[2],
            )
            for (value, month), c in cells.items()
        ]
    WinnableCount.objects.filter(team=team).delete()
    WinnableCount.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# ---------------------------------------------------------------- characteristics (managers)


def _slug_free(*, team: Team, base: str) -> str:
    base = (slugify(base) or "characteristic")[:50]
    taken = set(
        Characteristic.objects.filter(team=team, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def characteristic_create(
    *,
    team: Team,
    name: str,
    kind: str,
    choices: list[str],
    definition: OperationalDefinition | None = None,
    meaning: str = "",
    criteria: list[str] | None = None,
    author=None,
) -> Characteristic:
    """A custom characteristic, linked to an existing definition or to a new one (version 1)
    written from `meaning` and `criteria`: every characteristic is tied to a definition."""
    if kind not in CharacteristicKind.values:
        raise ValidationError({"kind": "Choose yes/no, choice or number."})
    if kind == CharacteristicKind.CHOICE and len(choices) < 2:
        raise ValidationError({"choices": "A choice needs at least two values."})
    if Characteristic.objects.filter(team=team, name__iexact=name.strip()).exists():
        raise ValidationError({"name": "The team already has a characteristic with this name."})
    if definition is not None and definition.team_id != team.id:
        raise ValidationError({"definition": "Choose one of the team's definitions."})
    slug = _slug_free(team=team, base=name)
    if definition is None:
        if not meaning.strip():
            raise ValidationError({"meaning": "Link a definition or write what it means."})
        definition = OperationalDefinition.objects.create(
            team=team,
            slug=_definition_slug_free(team=team, base=f"char-{slug}"),
            term=name.strip(),
        )
        DefinitionVersion.objects.create(
            definition=definition,
            number=1,
            meaning=meaning.strip(),
            criteria=[c for c in (criteria or []) if c.strip()],
            effective_from=timezone.localdate(),
            author=author,
        )
    position = (Characteristic.objects.filter(team=team).aggregate(p=Max("position"))["p"] or 0) + 1
    return Characteristic.objects.create(
        team=team,
        slug=slug,
        name=name.strip(),
        kind=kind,
        choices=choices if kind == CharacteristicKind.CHOICE else [],
        definition=definition,
        position=position,
    )


def _definition_slug_free(*, team: Team, base: str) -> str:
    taken = set(
        OperationalDefinition.objects.filter(team=team, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, n = base[:60], 2
    while slug in taken:
        slug, n = f"{base[:55]}-{n}", n + 1
    return slug


@transaction.atomic
def characteristic_set_active(*, characteristic: Characteristic, active: bool) -> Characteristic:
    """Deactivate (or reactivate) a characteristic. Its observations stay: the log is append-only,
    and deactivation only stops asking reps for it and hides it from the analysis."""
    characteristic.is_active = active
    characteristic.save(update_fields=["is_active"])
    return characteristic
