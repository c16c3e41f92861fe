"""The floor an API batch is judged against: the same events written by plain psycopg.

For each batch the app is sent, the benchmark first writes the very same events with nothing
around them: a dedicated psycopg connection to the same database, the batch's new deals inserted
with `executemany`, then the 1,000 events with `executemany` (psycopg pipelines it: one round trip
for all) and, in a second transaction, with a binary COPY. No JSON, no validation, no locks, no
positions, no pending marks, no audit context: only the rows.

Into the real tables, inside a transaction that is rolled back. The real tables carry what the
app's rows meet: the same indexes at the same depth (100,000 deals and their events), the same
check constraints and the deal table's history triggers, the same cache. A copy of the tables'
shape would be small and cold, so cheaper than the job. Rolling back keeps the team as the app's
next request expects it (the app then writes the same events, which would otherwise all be
duplicates). What the rollback leaves out is the commit's WAL flush, which the app pays: the
floor is lower, so the ratio stricter, by that much. What it leaves behind are dead index entries
for the batch's event ids and new deals' ids, which the app's unique checks then step over: a
small cost to the app, the same in every run.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from django.db import connection

from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import Deal, DealStatus, StageEvent

DEAL_COLUMNS = (
    "team_id",
    "external_id",
    "owner_id",
    "amount",
    "account",
    "department",
    "source",
    "status",
    "lost_reason",
    "created_at",
    "updated_at",
)
# The columns the app's write path fills, in its order (the floor writes the same rows).
EVENT_COLUMNS = EVENT_FIELDS
EVENT_TYPES = [
    "int8",
    "int8",
    "int8",
    "varchar",
    "varchar",
    "timestamptz",
    "timestamptz",
    "varchar",
    "varchar",
    "int4",
    "int8",
]


@dataclass(slots=True)
class FloorTimes:
    """Seconds for one batch: its new deals by executemany, its events by executemany, its
    events by COPY."""

    deals: float
    executemany: float
    copy: float


@dataclass(slots=True)
class FloorBatch:
    """One batch as plain rows, built before the clock starts."""

    new_deals: list[tuple]  # DEAL_COLUMNS
    events: list[tuple]  # EVENT_COLUMNS, deal_id None for a new deal (filled once inserted)
    new_deal_of: list[str | None]  # per event: the new deal's external id, or None


def floor_batch(
    *,
    team_id: int,
    events: list[dict],
    deal_ids: dict[str, int],
    stage_ids: dict[str, int],
    owner_ids: dict[str, int],
    api_token_id: int,
) -> FloorBatch:
    """The rows the batch (as the API receives it) amounts to, with stored deals' ids known."""
    now = dt.datetime.now(dt.UTC)
    new_deals: dict[str, tuple] = {}
    rows, new_deal_of = [], []
    for e in events:
        deal = e["deal"]
        ext = deal["id"]
        if ext not in deal_ids and ext not in new_deals:
            amount = deal.get("amount")
            new_deals[ext] = (
                team_id,
                ext,
                owner_ids.get(deal.get("owner", "")),
                Decimal(amount) if amount is not None else None,
                deal.get("account", ""),
                deal.get("department", ""),
                deal.get("source", ""),
                DealStatus.OPEN.value,
                "",
                now,
                now,
            )
        new_deal_of.append(None if ext in deal_ids else ext)
        stage = e.get("stage")
        rows.append(
            (
                team_id,
                deal_ids.get(ext),
                stage_ids[stage] if stage else None,
                e.get("outcome") or "",
                e.get("lost_reason") or "",
                dt.datetime.fromisoformat(e["occurred_at"]),
                now,
                e["id"],
                "api",
                None,
                api_token_id,
            )
        )
    return FloorBatch(list(new_deals.values()), rows, new_deal_of)


class EventFloor:
    """A plain psycopg connection to the app's database that writes batches and rolls back."""

    def __init__(self) -> None:
        params = connection.get_connection_params()
        # Plain psycopg: its own cursors and adapters, and its default of preparing a statement
        # run five times (Django turns that off), which executemany relies on.
        for name in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(name, None)
        self.conn = psycopg.connect(**params, autocommit=False)
        self.deal_sql = (
            f"INSERT INTO {Deal._meta.db_table} ({', '.join(DEAL_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(DEAL_COLUMNS))}) RETURNING external_id, id"
        )
        self.event_sql = (
            f"INSERT INTO {StageEvent._meta.db_table} ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})"
        )
        self.copy_sql = (
            f"COPY {StageEvent._meta.db_table} ({', '.join(EVENT_COLUMNS)}) "
            "FROM STDIN (FORMAT BINARY)"
        )

    def close(self) -> None:
        self.conn.close()

    def measure(self, batch: FloorBatch) -> FloorTimes:
        deals, executemany = self._write(batch, copy=False)
        _, copy = self._write(batch, copy=True)
        return FloorTimes(deals=deals, executemany=executemany, copy=copy)

    def _write(self, batch: FloorBatch, *, copy: bool) -> tuple[float, float]:
        """(seconds for the new deals, seconds for the events); rolled back."""
        try:
            with self.conn.cursor() as cursor:
                t0 = time.perf_counter()
                ids: dict[str, int] = {}
                if batch.new_deals:
                    cursor.executemany(self.deal_sql, batch.new_deals, returning=True)
                    while True:
                        ids.update(cursor.fetchall())
                        if not cursor.nextset():
                            break
                t1 = time.perf_counter()
                rows = [
                    row if ext is None else (row[0], ids[ext], *row[2:])
                    for row, ext in zip(batch.events, batch.new_deal_of, strict=True)
                ]
                t2 = time.perf_counter()
                if copy:
                    with cursor.copy(self.copy_sql) as out:
                        out.set_types(EVENT_TYPES)
                        for row in rows:
                            out.write_row(row)
                else:
                    cursor.executemany(self.event_sql, rows)
                t3 = time.perf_counter()
        finally:
            self.conn.rollback()
        return t1 - t0, t3 - t2
