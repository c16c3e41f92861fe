"""The open deals as a run reads them: how long each has waited in its stage (the aged WIP),
and how many the rates left out or the stale rule counted as lost."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import numpy as np
from django.db import connection

from funnel.metrics.stale import StaleCut
from funnel.models import Deal, DealStatus, Team
from funnel.pipeline.stale import open_deals_counted, open_deals_figures


def open_deals_read(
    team: Team, now: dt.datetime, cut: StaleCut | None
) -> tuple[dict[int, np.ndarray], dict]:
    """The open deals' ages (`_open_ages`) and the figures of how many the rates left out or
    the stale rule counted as lost (`open_deals_figures`): in PostgreSQL one scan for both."""
    if connection.vendor != "postgresql":
        ages = _open_ages(team, now, cut.cutoff if cut else None)
        return ages, open_deals_figures(team=team, cut=cut)
    before = cut.cutoff if cut else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_stage_id, floor(date_part('epoch', %s - stage_entered_at) / 86400) "
            "AS days, COUNT(*) FILTER (WHERE %s::timestamptz IS NULL OR last_event_at >= %s), "
            "COUNT(*) FILTER (WHERE last_event_at < %s), COUNT(*) "
            f"FROM {Deal._meta.db_table} WHERE team_id = %s AND status = %s "
            "GROUP BY current_stage_id, days",
            [now, before, before, before, team.id, DealStatus.OPEN],
        )
        rows = cursor.fetchall()
    counts = [((stage_id, days), n) for stage_id, days, n, _, _ in rows if stage_id and n]
    figures = open_deals_counted(
        total=sum(r[4] for r in rows), stale=sum(r[3] for r in rows) if cut else 0, cut=cut
    )
    return _ages_of(counts), figures


def _open_ages(team: Team, now: dt.datetime, stale_before=None) -> dict[int, np.ndarray]:
    """Whole days each open deal has been in its current stage, by stage id; without the deals
    the stale rule counts as lost (last event before `stale_before`)."""
    if connection.vendor == "postgresql":
        ages = _open_age_counts_sql(team, now, stale_before)
    else:
        ages = _open_age_counts_orm(team, now, stale_before)
    return _ages_of(ages)


def _ages_of(ages: AgeCounts) -> dict[int, np.ndarray]:
    hist: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (stage_id, days), count in ages:
        hist[stage_id].append((max(0.0, float(days or 0)), count))
    return {
        stage_id: np.repeat([d for d, _ in cells], [c for _, c in cells]).astype(float)
        for stage_id, cells in hist.items()
    }


AgeCounts = list[tuple[tuple[int, float | None], int]]  # ((stage id, whole days), open deals)


def _open_age_counts_sql(team: Team, now: dt.datetime, stale_before=None) -> AgeCounts:
    """Counted by the database: a row per stage and age, not per deal."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_stage_id, floor(date_part('epoch', %s - stage_entered_at) / 86400) "
            f"AS days, COUNT(*) FROM {Deal._meta.db_table} "
            "WHERE team_id = %s AND status = %s AND current_stage_id IS NOT NULL "
            "AND (%s::timestamptz IS NULL OR last_event_at >= %s) "
            "GROUP BY current_stage_id, days",
            [now, team.id, DealStatus.OPEN, stale_before, stale_before],
        )
        return [((stage_id, days), count) for stage_id, days, count in cursor.fetchall()]


def _open_age_counts_orm(team: Team, now: dt.datetime, stale_before=None) -> AgeCounts:
    deals = Deal.objects.filter(team=team, status=DealStatus.OPEN, current_stage__isnull=False)
    if stale_before is not None:
        deals = deals.filter(last_event_at__gte=stale_before)
    deals = deals.values_list("current_stage_id", "stage_entered_at")
    ages = Counter(
        (stage_id, (now - entered).total_seconds() // 86400 if entered else None)
        for stage_id, entered in deals
    )
    return list(ages.items())
