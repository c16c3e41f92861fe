"""The session tables a set-based import writes from (funnel.imports.sets): the file's converted
columns COPied in as CSV text, one statement a table, and the memory the write's statements get."""

from __future__ import annotations

import polars as pl
import psycopg
from django.db import transaction

from funnel.staging import staged_text

DEALS = "import_set_deals"
EVENTS = "import_set_events"
OBSERVATIONS = "import_set_observations"
WORK_MEM = "128MB"


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(include_header=False, null_value="\\N").encode()


def file_stage(
    cursor, deals: pl.DataFrame, events: pl.DataFrame, observations: pl.DataFrame
) -> None:
    """COPY the file's deals, events and observations into the session tables DEALS, EVENTS
    and OBSERVATIONS (dropped at commit), with room for what the write finds out about each
    deal, indexed and analyzed."""
    staged_text(
        cursor,
        DEALS,
        [
            ("ext", "varchar"),
            ("owner_id", "bigint"),
            ("amount", "numeric"),
            ("account", "varchar"),
            ("department", "varchar"),
            ("source", "varchar"),
        ],
        _csv(deals),
    )
    staged_text(
        cursor,
        EVENTS,
        [
            ("k", "bigint"),
            ("ext", "varchar"),
            ("event_id", "varchar"),
            ("stage_id", "bigint"),
            ("outcome", "varchar"),
            ("lost_reason", "varchar"),
            ("occurred_at", "timestamptz"),
        ],
        _csv(events),
    )
    staged_text(
        cursor,
        OBSERVATIONS,
        [
            ("n", "bigint"),
            ("ext", "varchar"),
            ("characteristic_id", "bigint"),
            ("value", "varchar"),
            ("value_number", "float8"),
            ("observed_at", "timestamptz"),
        ],
        _csv(observations),
    )
    # Where each deal stands: its id (stored or new), whether this file created it, and
    # how many of its events went in.
    cursor.execute(
        f"ALTER TABLE {DEALS} ADD COLUMN id bigint, ADD COLUMN created boolean DEFAULT false, "
        "ADD COLUMN accepted integer DEFAULT 0, ADD COLUMN staged integer DEFAULT 0"
    )
    cursor.execute(f"CREATE UNIQUE INDEX ON {DEALS} (ext)")
    for table in (DEALS, EVENTS, OBSERVATIONS):
        cursor.execute(f"ANALYZE {table}")
    cursor.execute(
        f"UPDATE {DEALS} s SET staged = c.events FROM "
        f"(SELECT ext, count(*) AS events FROM {EVENTS} GROUP BY ext) c WHERE s.ext = c.ext"
    )


def memory_for_sets(cursor) -> None:
    """Memory for this transaction's sorts and hashes over the whole file (the default 4 MB
    sent them to disk), and, when the session has not used a temporary table yet (a setting it
    takes only then), for the staging tables' pages."""
    cursor.execute(f"SET LOCAL work_mem TO '{WORK_MEM}'")
    try:
        with transaction.atomic():  # a savepoint: PostgreSQL refuses the setting once used
            cursor.execute(f"SET LOCAL temp_buffers TO '{WORK_MEM}'")
    except psycopg.Error:  # this plain cursor's errors are psycopg's own
        pass  # the session's temporary buffers stay as they are
