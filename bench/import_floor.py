"""The floor a CSV import is judged against, and the import's peak memory.

The floor: the file's deals and their events, as the import stores them, COPied by plain psycopg
into the real tables (the same indexes at the same depth, the same constraints and the deal
table's history triggers), in a transaction that is rolled back. The rows are made before the
clock starts, from the app's own column-wise conversion of the same file, with deal ids taken
from the deal table's sequence: the clock sees two COPY statements of ready CSV text and nothing
else. No parsing, no validation, no lookups of stored deals or events, no positions, no
observations, no pending marks, no commit (its WAL flush the app pays): the floor is lower, the
ratio stricter, by all of that.

The peak memory: the process's peak resident set (VmHWM), reset before the import (Linux, by
writing 5 to /proc/self/clear_refs), so it is the import's own peak, the Rust allocations of
polars included (tracemalloc sees only Python's); ru_maxrss, the process's peak since it
started, where the reset is not possible.
"""

from __future__ import annotations

import datetime as dt
import resource
import time

import polars as pl
import psycopg
from django.db import connection

from bench import event_floor
from funnel.imports.columnar import columnar_header, columnar_plan, columnar_read
from funnel.imports.facts import team_facts
from funnel.imports.mapping import mapping_complete
from funnel.imports.parsing import CsvTable
from funnel.imports.rows import PlanBuilder
from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import Deal, Membership, Stage, StageEvent, Team

DEAL_COLUMNS = ("id", *event_floor.DEAL_COLUMNS)


class ImportFloor:
    """A plain psycopg connection to the app's database that COPies a file's rows and rolls
    back."""

    def __init__(self) -> None:
        params = connection.get_connection_params()
        for name in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(name, None)
        self.conn = psycopg.connect(**params, autocommit=False)

    def close(self) -> None:
        self.conn.close()

    def rows(self, *, team: Team, content: bytes, mapping: dict, by_id: int | None) -> tuple:
        """(deal rows, event rows, rows of the file) as CSV text for COPY, made from the app's
        column-wise conversion of the file."""
        raw = columnar_read(content)
        header = columnar_header(raw)
        mapping = mapping_complete(mapping, header)
        table = CsvTable(header=header, rows=[], delimiter="", overlong=[])
        builder = PlanBuilder(table, mapping, team_facts(team=team))
        plan = columnar_plan(raw, builder, rows=raw.height - 1)
        if plan is None:
            raise ValueError("The file does not convert column-wise.")
        with self.conn.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Deal._meta.db_table, plan.deals.height],
            )
            ids = [row[0] for row in cursor.fetchall()]
        self.conn.rollback()
        stages = dict(Stage.objects.filter(team=team).values_list("slug", "id"))
        owners = dict(Membership.objects.filter(team=team).values_list("user__email", "user_id"))
        now = dt.datetime.now(dt.UTC)
        deals = plan.deals.select(
            pl.Series("id", ids, dtype=pl.Int64),
            pl.lit(team.id).alias("team_id"),
            "deal",
            pl.col("owner_email").replace_strict(owners, default=None, return_dtype=pl.Int64),
            "amount",
            pl.col("account").fill_null(""),
            pl.col("department").fill_null(""),
            pl.col("source").fill_null(""),
            pl.lit("open").alias("status"),
            pl.lit("").alias("lost_reason"),
            pl.lit(now).alias("created_at"),
            pl.lit(now).alias("updated_at"),
        )
        deal_ids = deals.select("deal", "id")
        events = plan.events.join(deal_ids, on="deal", how="left", maintain_order="left").select(
            pl.lit(team.id).alias("team_id"),
            "id",
            pl.col("stage").replace_strict(stages, default=None, return_dtype=pl.Int64),
            "outcome",
            "lost_reason",
            "occurred_at",
            pl.lit(now).alias("recorded_at"),
            "event_id",
            pl.lit("csv").alias("origin"),
            pl.lit(by_id, dtype=pl.Int64).alias("recorded_by_id"),
            pl.lit(None, dtype=pl.Int64).alias("api_token_id"),
        )
        return _csv(deals), _csv(events), plan.rows

    def measure(self, deals: bytes, events: bytes) -> float:
        """Seconds to COPY the deals and the events; rolled back."""
        try:
            with self.conn.cursor() as cursor:
                started = time.perf_counter()
                for table, columns, data in (
                    (Deal._meta.db_table, DEAL_COLUMNS, deals),
                    (StageEvent._meta.db_table, EVENT_FIELDS, events),
                ):
                    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv, NULL '\\N')"
                    with cursor.copy(sql) as copy:
                        copy.write(data)
                return time.perf_counter() - started
        finally:
            self.conn.rollback()


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(include_header=False, null_value="\\N").encode()


def peak_memory_reset() -> bool:
    """Start measuring the process's peak resident set anew; False where it cannot be."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def peak_memory_mib(reset: bool) -> float:
    """The peak resident set in MiB since the reset (VmHWM), else since the process started."""
    if reset:
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
