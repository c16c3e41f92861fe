"""What a batch reads of what is stored: the deals it names, locked, and their event logs."""

from __future__ import annotations

import json

import psycopg
from django.db import connection
from psycopg.types.datetime import TimestamptzLoader

from funnel.bulk import among
from funnel.ingest.events import DEAL_FIELDS, POSITION_FIELDS
from funnel.models import Deal, StageEvent, Team

ATTRIBUTE_FIELDS = ("owner_id", "amount", *DEAL_FIELDS)
# Read from each stored deal a batch names: its id, external id, attributes and position.
DEAL_READ = ("id", "external_id", *ATTRIBUTE_FIELDS, *POSITION_FIELDS)


def stored_deals_lock(*, team: Team, external_ids: list[str]) -> dict[str, dict]:
    """The team's stored deals with these external ids, locked in id order (so two batches
    never deadlock over them): external id -> DEAL_READ values."""
    if connection.vendor == "postgresql":
        rows = _deals_lock_by_external_id(team.id, external_ids)
    else:
        rows = (
            Deal.objects.select_for_update()
            .filter(team=team, external_id__in=among(external_ids, "text"))
            .order_by("id")
            .values_list(*DEAL_READ)
        )
    return {row[1]: dict(zip(DEAL_READ, row, strict=True)) for row in rows}


def _deals_lock_by_external_id(team_id: int, external_ids: list[str]) -> list[tuple]:
    """DEAL_READ of the team's deals with these external ids, locked in id order.

    Each id is looked up on its own in the (team, external id) index (LIMIT 1 keeps the planner
    from turning the probes into a join over all the team's deals), then the rows are locked
    through the primary key. Left to itself, with statistics that still count a new team's
    deals as none, the planner read every deal of the team once for each id: the first import
    of 78,000 rows into a new team slowed down chunk by chunk, to 17 s a chunk. For the same
    reason that index is the only one leading with team (see Deal.Meta.indexes).
    """
    sql, params = deals_lock_sql(), [json.dumps(external_ids), team_id]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        # psycopg's own (C) loader for the times: the connection's loader, clamping the times
        # Python cannot hold (funnel.db_loaders), is Python code a value, about a third of the
        # batch's read (four times a deal). Such a time fails here and the rows are read again
        # through the connection's loaders, locked already.
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        try:
            return cursor.fetchall()
        except psycopg.DataError:
            pass
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def deals_lock_sql() -> str:
    """The statement of _deals_lock_by_external_id: parameters the ids (JSON), the team id."""
    deal = Deal._meta.db_table
    column = {f.attname: f.column for f in Deal._meta.concrete_fields}
    return f"""
        SELECT {", ".join(column[name] for name in DEAL_READ)} FROM {deal}
        WHERE id = ANY(ARRAY(
            SELECT d.id FROM jsonb_array_elements_text(%s::jsonb) AS v(external_id)
            CROSS JOIN LATERAL (
                SELECT id FROM {deal} WHERE team_id = %s AND external_id = v.external_id LIMIT 1
            ) d
        ))
        ORDER BY id
        FOR UPDATE
    """


def stored_event_logs(deal_ids: list[int]) -> dict[int, list[dict]]:
    """The whole event logs of these deals, each sorted by (occurred_at, id)."""
    logs: dict[int, list[dict]] = {}
    rows = (
        StageEvent.objects.filter(deal_id__in=among(deal_ids))
        .order_by("deal_id", "occurred_at", "id")
        .values_list("deal_id", "stage_id", "outcome", "lost_reason", "occurred_at")
    )
    for deal_id, stage_id, outcome, lost_reason, occurred_at in rows:
        logs.setdefault(deal_id, []).append(
            {
                "stage_id": stage_id,
                "outcome": outcome,
                "lost_reason": lost_reason,
                "occurred_at": occurred_at,
            }
        )
    return logs
