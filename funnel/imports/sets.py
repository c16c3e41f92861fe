"""A converted deal export (funnel.imports.columnar) written set-based, on PostgreSQL: its columns
COPied into session staging tables, then deals, events, positions, pending marks and
observations derived in a few INSERT .. SELECT and UPDATE .. FROM statements, all in one
transaction (nothing partial; the job's `written` counts and progress commit with it).

The same rules as the ingest's batches (funnel.ingest.writes), which the row-by-row path takes:
stored event ids are skipped (so the same file twice changes nothing), the file's stored deals
are locked in id order before their events go in, a deal's attributes are the file's where it
gives them, its position follows from its whole event log in the log's order (by time, then
the funnel's order, outcomes last, then arrival), and every deal that gained an event is marked
pending for the recompute.
"""

from __future__ import annotations

import datetime as dt
import time

import polars as pl
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from funnel.audit.context import history_context_pinned
from funnel.imports.columnar import ColumnarPlan, NotColumnar
from funnel.imports.set_positions import POSITION_COLUMNS, POSITIONS, positions_stage
from funnel.imports.set_staging import DEALS, EVENTS, OBSERVATIONS, file_stage, memory_for_sets
from funnel.ingest import IngestResult
from funnel.ingest.events import _team_context
from funnel.ingest.writes import EVENT_FIELDS, NO_POSITION, DealsCreatedConcurrently
from funnel.models import (
    Deal,
    Membership,
    Observation,
    Origin,
    PendingDeal,
    Role,
    StageEvent,
    Team,
)
from funnel.staging import staged_cursor

WRITE_ATTEMPTS = 5  # as funnel.ingest: each attempt finds more of the racing deals stored

TOUCHED = "import_set_touched"
# Deals a statement updates at most: the deal table's history trigger joins an update's old and
# new rows by nested loops, so one statement's cost grows with the square of its rows.
CHUNK = 5000


def stages_refused(context, plan: ColumnarPlan) -> bool:
    """Whether the ingest would refuse a stage of the file (retired, or gone, since the file
    was checked): the row-by-row path then reports it. Checked before anything is set up."""
    slugs = set(plan.events["stage"].drop_nulls().unique().to_list())
    return not slugs <= set(context.stages) or bool(slugs & context.retired)


class SetWriter:
    """The staged columns of one file, with the team's ids they need."""

    def __init__(
        self,
        *,
        team: Team,
        plan: ColumnarPlan,
        characteristic_ids: dict[str, int],
        by: AbstractBaseUser | None,
    ):
        self.team, self.plan, self.by_id = team, plan, (by.pk if by is not None else None)
        self.seconds: dict[str, float] = {}  # by part of the write, for the job's summary
        context = _team_context(team=team, events=[])
        if stages_refused(context, plan):
            raise NotColumnar("a stage the ingest refuses")  # it names them, row by row
        emails = plan.deals["owner_email"].drop_nulls().unique().to_list()
        owners = self._owner_ids(emails)
        if len(owners) < len(emails):
            raise NotColumnar("an owner the ingest refuses")
        self.deals = plan.deals.with_columns(
            _mapped(plan.deals["owner_email"], owners, pl.Int64).alias("owner_id")
        ).select("deal", "owner_id", "amount", "account", "department", "source")
        self.events = plan.events.with_row_index("k").select(
            pl.col("k").cast(pl.Int64),
            "deal",
            "event_id",
            _mapped(plan.events["stage"], context.stages, pl.Int64).alias("stage_id"),
            "outcome",
            "lost_reason",
            "occurred_at",
        )
        self.observations = plan.observations.select(
            "n",
            "deal",
            _mapped(plan.observations["characteristic"], characteristic_ids, pl.Int64).alias(
                "characteristic_id"
            ),
            "value",
            "value_number",
            "observed_at",
        )

    def _owner_ids(self, emails: list[str]) -> dict[str, int]:
        """Email (as the file gives it) -> the member's user id, looked up as the ingest does
        (the address stripped and lower-cased, among the team's reps and managers)."""
        lowered = {email: email.strip().lower() for email in emails}
        ids = dict(
            Membership.objects.filter(
                team=self.team, role__in=[Role.REP, Role.MANAGER], user__email__in=lowered.values()
            ).values_list("user__email", "user_id")
        )
        return {email: ids[low] for email, low in lowered.items() if low in ids}

    def write(self) -> tuple[IngestResult, int]:
        """Write the file in the caller's transaction; (the ingest's counts, observations
        added). Started again when a concurrent writer created one of its new deals."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with transaction.atomic(), history_context_pinned():
                    return self._write(dt.datetime.now(dt.UTC))
            except DealsCreatedConcurrently:
                if attempt == WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _write(self, now: dt.datetime) -> tuple[IngestResult, int]:
        result = IngestResult()
        clock = time.perf_counter()

        def lap(part: str) -> None:
            nonlocal clock
            now_ = time.perf_counter()
            self.seconds[part] = self.seconds.get(part, 0.0) + now_ - clock
            clock = now_

        with staged_cursor() as cursor:
            memory_for_sets(cursor)
            file_stage(cursor, self.deals, self.events, self.observations)
            lap("set_copy")
            result.deals_created = self._deals(cursor, now)
            lap("set_deals")
            result.deals_updated = self._retitle(cursor, now)
            lap("set_retitle")
            result.accepted = self._events(cursor, now)
            result.duplicates = self.events.height - result.accepted
            lap("set_events")
            self._positions(cursor, now)
            lap("set_positions")
            observations = self._observations(cursor, now)
            lap("set_observations")
        return result, observations

    def _deals(self, cursor, now: dt.datetime) -> int:
        """Find and lock the stored deals (in id order, as every writer does), insert the new
        ones with the position their events give; returns how many were created."""
        deal = Deal._meta.db_table
        cursor.execute(
            f"UPDATE {DEALS} s SET id = d.id FROM {deal} d "
            "WHERE d.team_id = %s AND d.external_id = s.ext",
            [self.team.id],
        )
        cursor.execute(
            f"SELECT count(*) FROM (SELECT id FROM {deal} WHERE id IN "
            f"(SELECT id FROM {DEALS} WHERE id IS NOT NULL) ORDER BY id FOR UPDATE) locked"
        )
        cursor.execute(f"SELECT count(*) FROM {DEALS} WHERE id IS NULL")
        new = cursor.fetchone()[0]
        if new:
            # Inserted with their position: their whole log is in the file (an event whose id
            # another deal holds is taken out after, in _positions). Not updated after: the
            # deal table's history trigger joins an update's old and new rows, in time that
            # grows with the square of the rows of one statement.
            positions_stage(
                cursor,
                f"SELECT e.ext AS key, e.stage_id, e.outcome, e.lost_reason, e.occurred_at, "
                f"e.k AS tie FROM {EVENTS} e JOIN {DEALS} s ON s.ext = e.ext WHERE s.id IS NULL",
                [],
            )
            columns = ", ".join(POSITION_COLUMNS)
            values = ", ".join(
                f"coalesce(p.{c}, '{NO_POSITION[c]}')" if NO_POSITION[c] is not None else f"p.{c}"
                for c in POSITION_COLUMNS
            )
            # Sorted, as the ingest inserts them: two writers creating the same deals wait for
            # each other instead of deadlocking.
            cursor.execute(
                f"""
                INSERT INTO {deal} (team_id, external_id, owner_id, amount, account, department,
                    source, {columns}, created_at, updated_at)
                SELECT %s, s.ext, s.owner_id, s.amount, coalesce(s.account, ''),
                       coalesce(s.department, ''), coalesce(s.source, ''), {values}, %s, %s
                FROM {DEALS} s LEFT JOIN {POSITIONS} p ON p.key = s.ext
                WHERE s.id IS NULL ORDER BY s.ext
                ON CONFLICT (team_id, external_id) DO NOTHING
                """,
                [self.team.id, now, now],
            )
            if cursor.rowcount < new:
                raise DealsCreatedConcurrently()  # rolled back; the next attempt locks them
            cursor.execute(
                f"UPDATE {DEALS} s SET id = d.id, created = true FROM {deal} d "
                "WHERE d.team_id = %s AND d.external_id = s.ext AND s.id IS NULL",
                [self.team.id],
            )
        cursor.execute(f"CREATE UNIQUE INDEX ON {DEALS} (id)")
        cursor.execute(f"ANALYZE {DEALS}")
        return new

    def _retitle(self, cursor, now: dt.datetime) -> int:
        """The stored deals whose attributes the file changes (those it gives, where they
        differ): written, and counted as updated."""
        names = ("owner_id", "amount", "account", "department", "source")
        assignments = ", ".join(f"{n} = coalesce(s.{n}, d.{n})" for n in names)
        differs = " OR ".join(
            f"(s.{n} IS NOT NULL AND s.{n} IS DISTINCT FROM d.{n})" for n in names
        )
        return _in_chunks(
            cursor,
            f"SELECT id FROM {DEALS} WHERE NOT created",
            f"UPDATE {Deal._meta.db_table} d SET {assignments}, updated_at = %s "
            f"FROM {DEALS} s WHERE d.id = s.id AND s.id = ANY(%s) AND ({differs})",
            [now],
        )

    def _events(self, cursor, now: dt.datetime) -> int:
        """Insert the events in file order, skipping stored ids; mark the deals that gained one
        pending. Returns the events inserted."""
        event, pending = StageEvent._meta.db_table, PendingDeal._meta.db_table
        cursor.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TOUCHED} (deal_id bigint, accepted integer) ON COMMIT DROP"
        )
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {event} ({", ".join(EVENT_FIELDS)})
                SELECT %s, s.id, e.stage_id, e.outcome, e.lost_reason, e.occurred_at, %s,
                       e.event_id, %s, %s, NULL
                FROM {EVENTS} e JOIN {DEALS} s ON s.ext = e.ext
                ORDER BY e.k
                ON CONFLICT (team_id, event_id) DO NOTHING
                RETURNING deal_id
            ), touched AS (
                SELECT deal_id, count(*) AS accepted FROM inserted GROUP BY deal_id
            ), marked AS (
                INSERT INTO {pending} (deal_id, team_id)
                SELECT deal_id, %s FROM touched ORDER BY 1
                ON CONFLICT (deal_id) DO NOTHING
            )
            INSERT INTO {TOUCHED} SELECT deal_id, accepted FROM touched
            """,
            [self.team.id, now, Origin.CSV.value, self.by_id, self.team.id],
        )
        cursor.execute(f"ANALYZE {TOUCHED}")
        cursor.execute(
            f"UPDATE {DEALS} s SET accepted = t.accepted FROM {TOUCHED} t WHERE s.id = t.deal_id"
        )
        cursor.execute(f"SELECT coalesce(sum(accepted), 0) FROM {TOUCHED}")
        return int(cursor.fetchone()[0])

    def _positions(self, cursor, now: dt.datetime) -> None:
        """The stored deals that gained an event, and the new ones that lost one to another
        deal holding its id: their position from their whole log, in chunks (see _deals)."""
        redo = "(NOT s.created AND s.accepted > 0) OR (s.created AND s.accepted < s.staged)"
        cursor.execute(f"SELECT count(*) FROM {DEALS} s WHERE {redo}")
        if not cursor.fetchone()[0]:
            return
        positions_stage(
            cursor,
            f"SELECT e.deal_id AS key, e.stage_id, e.outcome, e.lost_reason, e.occurred_at, "
            f"e.id AS tie FROM {DEALS} s JOIN {StageEvent._meta.db_table} e ON e.deal_id = s.id "
            f"WHERE {redo}",
            [],
        )
        # A new deal left with no event has no position.
        assignments = ", ".join(
            f"{c} = coalesce(p.{c}, '{NO_POSITION[c]}')"
            if NO_POSITION[c] is not None
            else f"{c} = p.{c}"
            for c in POSITION_COLUMNS
        )
        _in_chunks(
            cursor,
            f"SELECT id FROM {DEALS} s WHERE {redo}",
            f"UPDATE {Deal._meta.db_table} d SET {assignments}, updated_at = %s "
            f"FROM {DEALS} s LEFT JOIN {POSITIONS} p ON p.key = s.id "
            "WHERE d.id = s.id AND s.id = ANY(%s)",
            [now],
        )

    def _observations(self, cursor, now: dt.datetime) -> int:
        """Append the observations not stored (same deal, characteristic, value and time); a
        deal this file created has none stored."""
        observation = Observation._meta.db_table
        cursor.execute(
            f"""
            INSERT INTO {observation} (deal_id, characteristic_id, value, value_number,
                observed_by_id, observed_at, recorded_at, evidence, origin)
            SELECT s.id, o.characteristic_id, o.value, o.value_number, %s, o.observed_at, %s,
                   '', %s
            FROM (
                SELECT DISTINCT ON (ext, characteristic_id, value, observed_at) *
                FROM {OBSERVATIONS}
                ORDER BY ext, characteristic_id, value, observed_at, n
            ) o
            JOIN {DEALS} s ON s.ext = o.ext
            WHERE s.created OR NOT EXISTS (
                SELECT 1 FROM {observation} x
                WHERE x.deal_id = s.id AND x.characteristic_id = o.characteristic_id
                  AND x.observed_at = o.observed_at AND x.value = o.value
            )
            ORDER BY o.n
            """,
            [self.by_id, now, Origin.CSV.value],
        )
        return cursor.rowcount


def _in_chunks(cursor, ids_sql: str, update_sql: str, params: list) -> int:
    """Run `update_sql` (its last parameter the ids) for the ids `ids_sql` gives, CHUNK of them
    a statement, in id order; the rows updated."""
    cursor.execute(f"{ids_sql} ORDER BY 1")
    ids = [row[0] for row in cursor.fetchall()]
    updated = 0
    for start in range(0, len(ids), CHUNK):
        cursor.execute(update_sql, [*params, ids[start : start + CHUNK]])
        updated += cursor.rowcount
    return updated


def _mapped(values: pl.Series, table: dict, dtype: pl.DataType) -> pl.Series:
    """Each value's entry in `table` (null for a null value)."""
    if not table:
        return pl.Series(values.name, [None] * len(values), dtype=dtype)
    keys = list(table)
    return values.replace_strict(keys, [table[k] for k in keys], default=None, return_dtype=dtype)
