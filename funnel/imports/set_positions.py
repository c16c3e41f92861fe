"""Deal positions derived in SQL from event logs, for the set-based import (funnel.imports.sets):
the same position funnel.positions.deal_position_from_events derives in Python.

A log is read in the log's one order: by time, then the funnel's order (stages by position,
then lost, then won), then arrival. The last event decides the status, the close and its lost
reason; the current stage is the last stage event's, entered when the log's last run of that
stage began (among the stage events); the deal opened at its first event.
"""

from __future__ import annotations

from funnel.ingest.events import POSITION_FIELDS
from funnel.models import Stage
from funnel.positions import OUTCOME_RANK

POSITIONS = "import_set_positions"
# Columns of the positions table besides its key, as the deal table names them.
POSITION_COLUMNS = POSITION_FIELDS


def positions_stage(cursor, log_sql: str, params: list) -> None:
    """A session table POSITIONS (key, *POSITION_COLUMNS) of each log's position, indexed by
    key and analyzed. `log_sql` yields (key, stage_id, outcome, lost_reason, occurred_at, tie):
    one row an event, `tie` its arrival order."""
    lost, won = OUTCOME_RANK["lost"], OUTCOME_RANK["won"]
    order = "occurred_at DESC, rank DESC, tie DESC"
    cursor.execute(f"DROP TABLE IF EXISTS {POSITIONS}")
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE {POSITIONS} ON COMMIT DROP AS
        WITH log AS (
            SELECT r.*, CASE r.outcome WHEN 'lost' THEN {lost:d} WHEN 'won' THEN {won:d}
                        ELSE coalesce(st.position, 0) END AS rank
            FROM ({log_sql}) r LEFT JOIN {Stage._meta.db_table} st ON st.id = r.stage_id
        ), marked AS (
            -- A stage event that starts a run of its stage (among the stage events).
            SELECT *, stage_id IS NOT NULL AND stage_id IS DISTINCT FROM lag(stage_id) OVER (
                PARTITION BY key, stage_id IS NULL ORDER BY occurred_at, rank, tie
            ) AS starts
            FROM log
        ), last AS (
            -- One pass over each log, no join between derived sets (the planner cannot count
            -- their rows, and joined 100,000 deals' by nested loops).
            SELECT key,
                min(occurred_at) AS opened_at,
                max(occurred_at) AS last_at,
                (array_agg(outcome ORDER BY {order}))[1] AS outcome,
                (array_agg(lost_reason ORDER BY {order}))[1] AS lost_reason,
                (array_agg(stage_id ORDER BY {order}) FILTER (WHERE starts))[1] AS stage_id,
                (array_agg(occurred_at ORDER BY {order}) FILTER (WHERE starts))[1] AS entered_at
            FROM marked GROUP BY key
        )
        SELECT key,
            CASE WHEN outcome <> '' THEN outcome ELSE 'open' END AS status,
            CASE WHEN outcome = 'lost' THEN lost_reason ELSE '' END AS lost_reason,
            stage_id AS current_stage_id,
            entered_at AS stage_entered_at,
            opened_at,
            CASE WHEN outcome <> '' THEN last_at END AS closed_at,
            last_at AS last_event_at
        FROM last
        """,
        params,
    )
    cursor.execute(f"CREATE UNIQUE INDEX ON {POSITIONS} (key)")
    cursor.execute(f"ANALYZE {POSITIONS}")
