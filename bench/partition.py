"""Does hash-partitioning the event log by team pay? (bench_scale partition)

A copy of the event log, partitioned by hash of team_id into N partitions with the plain table's
indexes (the primary key must then include team_id: a partitioned table's unique keys contain
its partition key), is queried side by side with the plain table by the app's own reads of the
log: the rebuild's aggregate over one team's whole log (here the plain-SQL floor), the drain's
read of 1,000 deals' logs (by deal id, as funnel.pipeline.passages reads them), the watermark
(a team's last event id) and the replay check (1,000 event ids of one team). The copy is dropped
afterwards.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection

from funnel.models import StageEvent

PART = "bench_event_by_team"


def partitioned_copy_create(*, partitions: int) -> float:
    """The copy, loaded and indexed; seconds taken."""
    plain = StageEvent._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PART}")
        cursor.execute(
            f"CREATE TABLE {PART} (LIKE {plain} INCLUDING DEFAULTS) PARTITION BY HASH (team_id)"
        )
        for k in range(partitions):
            cursor.execute(
                f"CREATE TABLE {PART}_{k} PARTITION OF {PART} "
                f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {k})"
            )
        cursor.execute(f"INSERT INTO {PART} SELECT * FROM {plain}")
        cursor.execute(f"ALTER TABLE {PART} ADD PRIMARY KEY (team_id, id)")
        cursor.execute(f"CREATE INDEX ON {PART} (deal_id, occurred_at, id)")
        cursor.execute(f"CREATE INDEX ON {PART} (team_id, id)")
        cursor.execute(f"CREATE UNIQUE INDEX ON {PART} (team_id, event_id)")
        cursor.execute(f"VACUUM ANALYZE {PART}")
    return time.perf_counter() - started


def partitioned_copy_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PART}")


def _floor(table: str) -> str:
    return f"""
        SELECT stage_id, date_trunc('week', next_at)::date, next_outcome, count(*) FROM (
            SELECT stage_id, lead(occurred_at) OVER w AS next_at,
                   lead(outcome) OVER w AS next_outcome
            FROM {table} WHERE team_id = %(team)s
            WINDOW w AS (PARTITION BY deal_id ORDER BY occurred_at, id)) e
        WHERE stage_id IS NOT NULL GROUP BY 1, 2, 3
    """


QUERIES = {
    "one team's whole log aggregated (the rebuild's read)": _floor,
    "1,000 deals' logs by deal id (the drain's read)": lambda t: (
        f"SELECT deal_id, stage_id, outcome, occurred_at FROM {t} "
        "WHERE deal_id = ANY(%(deals)s) ORDER BY deal_id, occurred_at, id"
    ),
    "1,000 deals' logs by team and deal id": lambda t: (
        f"SELECT deal_id, stage_id, outcome, occurred_at FROM {t} "
        "WHERE team_id = %(team)s AND deal_id = ANY(%(deals)s) ORDER BY deal_id, occurred_at, id"
    ),
    "a team's last event id (the watermark)": lambda t: (
        f"SELECT max(id) FROM {t} WHERE team_id = %(team)s"
    ),
    "1,000 event ids of a team (the replay check)": lambda t: (
        f"SELECT event_id FROM {t} WHERE team_id = %(team)s AND event_id = ANY(%(events)s)"
    ),
}


def _params(team_id: int) -> dict:
    plain = StageEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT deal_id, event_id FROM {plain} WHERE team_id = %s ORDER BY id DESC LIMIT 1000",
            [team_id],
        )
        rows = cursor.fetchall()
    return {
        "team": team_id,
        "deals": sorted({d for d, _ in rows}),
        "events": [e for _, e in rows],
    }


def partition_compare(team_ids: list[int], *, repeat: int) -> list[tuple[str, int, float, float]]:
    """(query, team, plain median s, partitioned median s), each the median of `repeat` runs
    alternating the two tables, after one warm-up run of each."""
    plain = StageEvent._meta.db_table
    results = []
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '64MB'")
        for team_id in team_ids:
            params = _params(team_id)
            for name, sql in QUERIES.items():
                times: dict[str, list[float]] = {plain: [], PART: []}
                for n in range(repeat + 1):
                    for table in (plain, PART):
                        started = time.perf_counter()
                        cursor.execute(sql(table), params)
                        cursor.fetchall()
                        if n:
                            times[table].append(time.perf_counter() - started)
                results.append(
                    (
                        name,
                        team_id,
                        statistics.median(times[plain]),
                        statistics.median(times[PART]),
                    )
                )
    return results
