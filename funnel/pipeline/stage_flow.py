"""The weekly StageFlow counts: a delta of passages applied to them, as one upsert in
PostgreSQL and through the ORM elsewhere. funnel.pipeline.passages keeps the passages and
computes the deltas."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import connection

from funnel.models import StageFlow

FlowKey = tuple[int, dt.date, str, int]  # stage id, week, kind, days


def stage_flow_apply(*, team_id: int, delta: Counter) -> None:
    """Add a delta to the StageFlow counts (concurrency-safe upsert); drop cells that reach 0."""
    changes = [(key, n) for key, n in delta.items() if n]
    if not changes:
        return
    # Lock order by key keeps two concurrent writers from deadlocking on the same cells.
    changes.sort()
    if connection.vendor == "postgresql":
        _stage_flow_upsert(team_id, changes)
    else:
        _stage_flow_apply_orm(team_id, changes)


def _stage_flow_upsert(team_id: int, changes: list[tuple[FlowKey, int]]) -> None:
    """One upsert adding the counts, then a delete of the cells it brought to 0."""
    table = StageFlow._meta.db_table
    rows = [(team_id, stage_id, week, kind, days, n) for (stage_id, week, kind, days), n in changes]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (team_id, stage_id, week, kind, days, count) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::varchar[], "
            "%s::smallint[], %s::int[]) "
            "ON CONFLICT (team_id, stage_id, week, kind, days) "
            "DO UPDATE SET count = funnel_stageflow.count + EXCLUDED.count "
            "RETURNING id, count",
            [list(col) for col in zip(*rows, strict=True)],
        )
        # Only the cells just changed can have reached 0.
        emptied = [cell_id for cell_id, count in cursor.fetchall() if count == 0]
        if emptied:
            cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [emptied])


def _stage_flow_apply_orm(team_id: int, changes: list[tuple[FlowKey, int]]) -> None:
    """The same through the ORM: read the cells, add, write back. SQLite holds its write lock
    from the transaction's start (transaction_mode IMMEDIATE), so no writer comes between."""
    stored = {
        (cell.stage_id, cell.week, cell.kind, cell.days): cell
        for cell in StageFlow.objects.filter(
            team_id=team_id,
            stage_id__in={key[0] for key, _ in changes},
            week__in={key[1] for key, _ in changes},
        )
    }
    new, changed, emptied = [], [], []
    for (stage_id, week, kind, days), n in changes:
        cell = stored.get((stage_id, week, kind, days))
        if cell is None:
            new.append(
                StageFlow(
                    team_id=team_id, stage_id=stage_id, week=week, kind=kind, days=days, count=n
                )
            )
            continue
        cell.count += n
        (changed if cell.count else emptied).append(cell)
    StageFlow.objects.bulk_create(new)
    StageFlow.objects.bulk_update(changed, ["count"])
    StageFlow.objects.filter(id__in=[cell.id for cell in emptied]).delete()
