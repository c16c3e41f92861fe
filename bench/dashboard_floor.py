"""The plain-SQL floor of the dashboard pages: the snapshot rows a page shows, read with psycopg
(no ORM, no template), by as many processes as the pages have web workers, each on its own
connection.

A team page's reads: its last verdicts with their figures, a year of its weekly counts by
stage, its cycles, its definitions' current versions and their agreements, its recompute
state. The company page's: each team's latest verdict, a year of every team's weekly counts,
the company verdict, its stations' recent sums and the active cycles per team. This is what the
page costs when nothing is cached, done as cheaply as SQL can; the page itself answers from
its cache while the version of these rows stays the same.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time

import psycopg
from django.conf import settings

from kaizen.dashboard.selectors import ACTIVE_PHASES, HISTORY_ROWS, chart_window

TEAM_READS = (
    "SELECT s.id, s.verdict, s.station, s.gap_per_week, s.figures, s.watermark, s.computed_at,"
    " st.name, st.position FROM funnel_bottleneckstatus s"
    " LEFT JOIN funnel_stage st ON st.id = s.stage_id WHERE s.team_id = %(team)s"
    " ORDER BY s.computed_at DESC, s.id DESC LIMIT %(history)s",
    "SELECT position, week, SUM(entered), SUM(advanced), SUM(lost) FROM funnel_stagemetric"
    " WHERE team_id = %(team)s AND week >= %(start)s AND week < %(end)s"
    " GROUP BY position, week ORDER BY position, week",
    "SELECT id, title, phase, do_start, do_end, check_result, stage_id, owner_id, tactic_id"
    " FROM kaizen_cycle WHERE team_id = %(team)s"
    " AND (phase = ANY(%(phases)s) OR do_start >= %(start)s) ORDER BY updated_at DESC, id DESC",
    "SELECT DISTINCT ON (v.definition_id) v.definition_id, v.id, v.number, d.term,"
    " (SELECT COUNT(DISTINCT a.user_id) FROM funnel_agreement a WHERE a.version_id = v.id)"
    " FROM funnel_definitionversion v JOIN funnel_operationaldefinition d"
    " ON d.id = v.definition_id WHERE d.team_id = %(team)s"
    " ORDER BY v.definition_id, v.number DESC",
    "SELECT queued, requested_at, started_at, failed_at FROM funnel_recomputestate"
    " WHERE team_id = %(team)s",
)
COMPANY_READS = (
    "SELECT DISTINCT ON (s.team_id) s.team_id, s.verdict, s.station, s.gap_per_week, s.figures,"
    " s.watermark, s.computed_at, st.name FROM funnel_bottleneckstatus s"
    " LEFT JOIN funnel_stage st ON st.id = s.stage_id WHERE s.team_id = ANY(%(teams)s)"
    " ORDER BY s.team_id, s.computed_at DESC, s.id DESC",
    "SELECT team_id, position, week, entered, advanced, lost FROM funnel_stagemetric"
    " WHERE team_id = ANY(%(teams)s) AND week >= %(start)s AND week < %(end)s"
    " ORDER BY team_id, position, week",
    "SELECT id, verdict, station, gap_per_week, figures, watermark, computed_at"
    " FROM funnel_bottleneckstatus WHERE team_id IS NULL"
    " ORDER BY computed_at DESC, id DESC LIMIT 1",
    "SELECT station, SUM(entered), SUM(advanced), SUM(lost) FROM funnel_stagemetric"
    " WHERE team_id IS NULL AND week >= %(recent)s AND week < %(end)s"
    " GROUP BY station ORDER BY station",
    "SELECT team_id, COUNT(*) FROM kaizen_cycle WHERE team_id = ANY(%(teams)s)"
    " AND phase = ANY(%(phases)s) GROUP BY team_id",
)


def _connect() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    )


def page_reads(cursor, *, team_id: int | None, team_ids: list[int]) -> int:
    """One page's reads (a team's, or the company's when `team_id` is None); rows read."""
    start, end = chart_window()
    params = {
        "team": team_id,
        "teams": team_ids,
        "history": HISTORY_ROWS,
        "start": start,
        "end": end,
        "recent": end - dt.timedelta(weeks=13),
        "phases": [str(p) for p in ACTIVE_PHASES],
    }
    rows = 0
    for sql in COMPANY_READS if team_id is None else TEAM_READS:
        cursor.execute(sql, params)
        rows += len(cursor.fetchall())
    return rows


def _reads(pages: list[int | None], team_ids: list[int], first: int, count: int, step: int):
    """One process's share: pages first, first + step, ... (as the clients ask for them)."""
    times = []
    with _connect() as conn, conn.cursor() as cursor:
        for i in range(count):
            team_id = pages[(first + i * step) % len(pages)]
            started = time.perf_counter()
            page_reads(cursor, team_id=team_id, team_ids=team_ids)
            times.append((time.perf_counter() - started) * 1000)
    return times


def floor_sql_fire(*, team_ids: list[int], requests: int, workers: int) -> dict:
    """`requests` page reads in the pages' order (the company page, then each team's), shared
    by `workers` processes that each read one page after the other on their own connection:
    as the sync web workers serve their queue, so the database sees as many statements at
    once as from the app. Per page: its reads' time in ms."""
    pages: list[int | None] = [None, *team_ids]
    share = -(-requests // workers)
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.starmap(_reads, [(pages, team_ids, n, share, workers) for n in range(workers)])
    wall = time.perf_counter() - started
    times = [t for part in parts for t in part]
    return {"server": times, "client": times, "wall": wall}
