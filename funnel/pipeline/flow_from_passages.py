"""StageFlow rebuilt from the stored passages, without reading the event log: after a bulk
load of passages (the benchmarks) or when the weekly counts alone are in doubt. On PostgreSQL
one set-based statement; elsewhere through the ORM."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db import connection, transaction

from funnel.models import DealPassage, StageFlow, Team
from funnel.pipeline.passages import _zone, passage_flow_keys, team_lock
from funnel.pipeline.passages_sql import flow_select
from funnel.pipeline.stage_flow import stage_flow_apply
from funnel.pipeline.touched import flow_touched_forget


def team_flow_from_passages(*, team: Team) -> None:
    """Rebuild StageFlow from the stored passages (the event log is not read)."""
    if connection.vendor == "postgresql":
        _team_flow_from_passages_set_based(team)
    else:
        _team_flow_from_passages_orm(team)


@transaction.atomic
def _team_flow_from_passages_orm(team: Team) -> None:
    team_lock(team)
    StageFlow.objects.filter(team=team).delete()
    flow_touched_forget(team)
    zone = _zone()
    totals: Counter = Counter()
    passages = DealPassage.objects.filter(team=team).values_list(
        "stage_id", "entered_at", "left_at", "result", "skipped"
    )
    for row in passages.iterator(chunk_size=20000):
        totals.update(passage_flow_keys(*row, zone))
    stage_flow_apply(team_id=team.id, delta=totals)


def _team_flow_from_passages_set_based(team: Team) -> None:
    """In one set-based statement: grouped by the database, never read into Python."""
    table = StageFlow._meta.db_table
    passages = DealPassage._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        team_lock(team)
        # Room for the hash aggregates (tens of thousands of cells at a million deals) in memory.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DELETE FROM {table} WHERE team_id = %s", [team.id])
        flow_touched_forget(team)
        cursor.execute(
            f"INSERT INTO {table} (team_id, stage_id, week, kind, days, count) "
            + flow_select(f"{passages} WHERE team_id = %(team)s"),
            {"team": team.id, "tz": settings.TIME_ZONE},
        )
