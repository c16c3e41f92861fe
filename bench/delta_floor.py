"""The floor an applied batch and its verdict are judged against: the delta in plain SQL.

For each 1,000-event batch the recompute benchmark applies, this first does the same job with
nothing around it, on a plain psycopg connection to the same database, in a transaction that
is rolled back (so the app then finds the team as it was, and applies the very same batch):

1. the batch's new deals and its events written (each one INSERT ... SELECT from unnest);
2. the deals moved: the stage they are in now and since when, won or lost;
3. the passages: the one each moving deal leaves closed (left, advanced or lost), a new open
   one for each stage entered;
4. the delta to the weekly counts, grouped in SQL and added with one upsert;
5. the figures of the touched stages and weeks: entered, advanced and lost, and the exact
   median and 85th percentile of days in stage (`percentile_cont` over the week's histogram
   expanded with `generate_series`), and each touched stage's exact percentiles over the
   verdict's recent window (from the histogram's cumulative counts, not expanded: the same
   figures as `percentile_cont`, checked, in a tenth of the time at a million deals).

The batches are the benchmark's (bench.data.BatchMaker): new deals entering the first stage,
open deals moving to the next stage, won from the last one, or lost; so the delta is what the
app's drain derives for them (no arrival out of order to repair: the floor does less, the
ratio is stricter for it). What the rollback leaves out is the commit's WAL flush.
"""

from __future__ import annotations

import datetime as dt
import time

import psycopg
from django.conf import settings
from django.db import connection

from funnel.ingest import EventIn
from funnel.models import Deal, DealPassage, StageEvent, StageFlow

D, E, P, F = (m._meta.db_table for m in (Deal, StageEvent, DealPassage, StageFlow))

NEW_DEALS = f"""
    INSERT INTO {D} (team_id, external_id, account, department, source, status, lost_reason,
                     created_at, updated_at)
    SELECT %(team)s, ext, '', '', source, 'open', '', now(), now()
    FROM unnest(%(new)s::text[], %(source)s::text[]) AS n(ext, source)
"""
EVENTS = f"""
    INSERT INTO {E} (team_id, deal_id, stage_id, outcome, lost_reason, occurred_at, recorded_at,
                     event_id, origin)
    SELECT %(team)s, d.id, b.stage_id, b.outcome, b.reason, b.at, now(), b.event_id, 'api'
    FROM unnest(%(ext)s::text[], %(stage)s::bigint[], %(outcome)s::text[], %(reason)s::text[],
                %(at)s::timestamptz[], %(event_id)s::text[])
         AS b(ext, stage_id, outcome, reason, at, event_id)
    JOIN {D} d ON d.team_id = %(team)s AND d.external_id = b.ext
"""
BATCH = "unnest(%(ext)s::text[], %(stage)s::bigint[], %(outcome)s::text[], %(at)s::timestamptz[])"
# The moving deals as they were, the stage they leave and when they entered it.
MOVES = f"""
    CREATE TEMP TABLE floor_moves ON COMMIT DROP AS
    SELECT d.id AS deal_id, d.current_stage_id AS left_stage, d.stage_entered_at AS entered_at,
           b.stage_id, b.outcome, b.at
    FROM {BATCH} AS b(ext, stage_id, outcome, at)
    JOIN {D} d ON d.team_id = %(team)s AND d.external_id = b.ext
"""
DEALS_MOVE = f"""
    UPDATE {D} d SET current_stage_id = COALESCE(m.stage_id, d.current_stage_id),
        stage_entered_at = CASE WHEN m.stage_id IS NULL THEN d.stage_entered_at ELSE m.at END,
        status = CASE WHEN m.outcome = '' THEN d.status ELSE m.outcome END,
        last_event_at = m.at, updated_at = now()
    FROM floor_moves m WHERE d.id = m.deal_id
"""
PASSAGES = f"""
    WITH closed AS (
        UPDATE {P} p SET left_at = m.at,
            result = CASE WHEN m.outcome = 'lost' THEN 'lost' ELSE 'advanced' END
        FROM floor_moves m
        WHERE p.deal_id = m.deal_id AND p.stage_id = m.left_stage AND m.left_stage IS NOT NULL
    )
    INSERT INTO {P} (team_id, deal_id, stage_id, entered_at, left_at, result, skipped)
    SELECT %(team)s, deal_id, stage_id, at, NULL, 'open', false
    FROM floor_moves WHERE stage_id IS NOT NULL
"""
WEEK = "date_trunc('week', {} AT TIME ZONE %(tz)s)::date"
FLOW_DELTA = f"""
    INSERT INTO {F} (team_id, stage_id, week, kind, days, count)
    SELECT %(team)s, stage_id, week, kind, days, count(*) FROM (
        SELECT stage_id, {WEEK.format("at")} AS week, 'entered' AS kind, -1 AS days
        FROM floor_moves WHERE stage_id IS NOT NULL
        UNION ALL
        SELECT left_stage, {WEEK.format("at")},
               CASE WHEN outcome = 'lost' THEN 'lost' ELSE 'advanced' END,
               LEAST(GREATEST(floor(date_part('epoch', at - entered_at) / 86400), 0), 32767)::int
        FROM floor_moves WHERE left_stage IS NOT NULL
    ) delta GROUP BY stage_id, week, kind, days
    ON CONFLICT (team_id, stage_id, week, kind, days)
    DO UPDATE SET count = {F}.count + EXCLUDED.count
    RETURNING stage_id, week
"""
# The touched stages' and weeks' figures, percentiles exact over the expanded histograms.
WEEK_FIGURES = f"""
    SELECT f.stage_id, f.week,
        sum(f.count) FILTER (WHERE f.kind = 'entered'),
        sum(f.count) FILTER (WHERE f.kind = 'advanced'),
        sum(f.count) FILTER (WHERE f.kind = 'lost'),
        (SELECT percentile_cont(ARRAY[0.5, 0.85]) WITHIN GROUP (ORDER BY x.days)
         FROM {F} x, generate_series(1, x.count)
         WHERE x.team_id = %(team)s AND x.stage_id = f.stage_id AND x.week = f.week
           AND x.kind <> 'entered' AND x.days >= 0)
    FROM {F} f
    JOIN unnest(%(stages)s::bigint[], %(weeks)s::date[]) t(stage_id, week)
      ON f.stage_id = t.stage_id AND f.week = t.week
    WHERE f.team_id = %(team)s
    GROUP BY f.stage_id, f.week
"""
# Each touched stage's exact percentiles over the recent window, from the histogram's
# cumulative counts: the order statistics at q (n - 1) and the next, interpolated as numpy does.
WINDOW_FIGURES = f"""
    WITH h AS (
        SELECT stage_id, days, sum(count) AS c FROM {F}
        WHERE team_id = %(team)s AND stage_id = ANY(%(stages)s) AND kind <> 'entered'
          AND days >= 0 AND week >= %(since)s AND week < %(until)s
        GROUP BY stage_id, days
    ), r AS (
        SELECT stage_id, days, sum(c) OVER (PARTITION BY stage_id ORDER BY days) AS upto,
               sum(c) OVER (PARTITION BY stage_id) AS n
        FROM h
    ), q AS (
        SELECT DISTINCT stage_id, p, p * (n - 1) AS at FROM r, unnest(ARRAY[0.5, 0.85]::float8[]) p
    )
    SELECT stage_id, p, lo + (COALESCE(hi, lo) - lo) * (at - floor(at)) FROM (
        SELECT q.stage_id, q.p, q.at,
            (SELECT days FROM r WHERE r.stage_id = q.stage_id AND r.upto > floor(q.at)
             ORDER BY days LIMIT 1) AS lo,
            (SELECT days FROM r WHERE r.stage_id = q.stage_id AND r.upto > floor(q.at) + 1
             ORDER BY days LIMIT 1) AS hi
        FROM q
    ) o
"""


class DeltaFloor:
    """A plain psycopg connection that applies a batch's delta and rolls it back."""

    def __init__(self, *, team_id: int, stage_ids: dict[str, int], recent_weeks: int) -> None:
        params = connection.get_connection_params()
        for name in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(name, None)
        self.conn = psycopg.connect(**params, autocommit=False)
        self.team_id, self.stage_ids, self.recent_weeks = team_id, stage_ids, recent_weeks

    def close(self) -> None:
        self.conn.close()

    def measure(self, events: list[EventIn]) -> tuple[float, int]:
        """Seconds for the whole job on one batch, and how many (stage, week) it touched."""
        team = self.team_id
        new = [e for e in events if e.source]
        args = {
            "team": team,
            "tz": settings.TIME_ZONE,
            "ext": [e.deal_external_id for e in events],
            "stage": [self.stage_ids[e.stage] if e.stage else None for e in events],
            "outcome": [e.outcome or "" for e in events],
            "reason": [e.lost_reason or "" for e in events],
            "at": [e.occurred_at for e in events],
            "event_id": [e.event_id for e in events],
            "new": [e.deal_external_id for e in new],
            "source": [e.source for e in new],
        }
        try:
            with self.conn.cursor() as cursor:
                started = time.perf_counter()
                # The moves are read before the new deals exist: a new deal only enters.
                cursor.execute(MOVES, args)
                cursor.execute(NEW_DEALS, args)
                cursor.execute(
                    "INSERT INTO floor_moves SELECT d.id, NULL, NULL, b.stage_id, b.outcome, b.at "
                    f"FROM {BATCH} AS b(ext, stage_id, outcome, at) JOIN {D} d "
                    "ON d.team_id = %(team)s AND d.external_id = b.ext "
                    "WHERE b.ext = ANY(%(new)s)",
                    args,
                )
                cursor.execute("ANALYZE floor_moves")
                cursor.execute(EVENTS, args)
                cursor.execute(DEALS_MOVE, args)
                cursor.execute(PASSAGES, args)
                cursor.execute(FLOW_DELTA, args)
                touched = sorted(set(cursor.fetchall()))
                stages = [s for s, _ in touched]
                cursor.execute(
                    WEEK_FIGURES, {"team": team, "stages": stages, "weeks": [w for _, w in touched]}
                )
                cursor.fetchall()
                until = max(w for _, w in touched)
                since = until - dt.timedelta(weeks=self.recent_weeks)
                cursor.execute(
                    WINDOW_FIGURES,
                    {"team": team, "stages": sorted(set(stages)), "since": since, "until": until},
                )
                cursor.fetchall()
                seconds = time.perf_counter() - started
        finally:
            self.conn.rollback()
        return seconds, len(touched)
