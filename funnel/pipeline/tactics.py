"""The tactics page's counts (TouchWeekCount, ProspectWeekCount), rebuilt from the touches and the
event log set-based, on PostgreSQL and SQLite alike: one statement judges every touch into a
temporary table, then one statement per table groups it.

What each touch is judged by (the same rules the page states):
- answered: recorded yes; or, nothing recorded, the deal entered a stage or was won within the
  window of the tactic's latest response rule after the touch (no window: recorded answers only);
- station: that of the stage the deal was in at the touch (its latest stage event at or before
  it; a merged stage counts as the stage it was merged into; ties by the stage order); '' for a
  prospect without a deal or a deal before its first stage;
- advanced: the deal later entered a stage further down the funnel than that one, or was won.

The recompute rebuilds them after touches or events change, at most every
TACTICS_REFRESH_SECONDS (funnel.pipeline.request.tactics_due); the page builds them on its first
read (team_tactics_ensure).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from funnel.models import (
    Deal,
    ProspectWeekCount,
    RecomputeState,
    ResponseRule,
    Stage,
    StageEvent,
    Tactic,
    Team,
    Touch,
    TouchWeekCount,
)
from funnel.pipeline.passages import team_lock

logger = logging.getLogger(__name__)


def _dialect() -> dict[str, str]:
    """The two expressions the databases spell differently: the Monday of a touch's week in
    the app's time zone, and a moment plus whole days (of 24 hours, as timedelta adds them)."""
    if connection.vendor == "postgresql":
        return {
            "week": "CAST(date_trunc('week', {0} AT TIME ZONE %(tz)s) AS date)",
            "plus_days": "{0} + make_interval(secs => {1} * 86400)",
        }
    # Django's own SQLite functions, the ones its ORM compiles these to.
    return {
        "week": "date(django_datetime_trunc('week', {0}, %(tz)s, 'UTC'))",
        "plus_days": "django_format_dtdelta('+', {0}, {1} * 86400000000)",
    }


JUDGED = "tactics_judged"  # the temporary table both counts are grouped from


def _rules_and_stages() -> str:
    """CTEs `rule_now` (each tactic's latest response rule) and `stage_of` (each stage's
    position and station, a merged stage as the one it was merged into)."""
    return f"""
    rule_now AS (
        SELECT r.tactic_id, r.window_days
        FROM {ResponseRule._meta.db_table} r
        JOIN {Tactic._meta.db_table} ta ON ta.id = r.tactic_id
        WHERE ta.team_id = %(team)s AND r.number = (
            SELECT MAX(r2.number) FROM {ResponseRule._meta.db_table} r2
            WHERE r2.tactic_id = r.tactic_id)
    ),
    stage_of AS (
        SELECT s.id, COALESCE(m.position, s.position) AS position,
               COALESCE(m.station, s.station) AS station
        FROM {Stage._meta.db_table} s
        LEFT JOIN {Stage._meta.db_table} m ON m.id = s.merged_into_id
        WHERE s.team_id = %(team)s
    )"""


def _judged_by_probes() -> str:
    """CTEs ending in `judged`: one row per touch of the team with its week, station, whether
    it was answered and whether its deal advanced after it, and the deal's status. Three index
    probes of the deal's log per touch (SQLite, the embedded default, holds small teams)."""
    d = _dialect()
    week = d["week"].format("t.occurred_at")
    until = d["plus_days"].format("a.occurred_at", "a.window_days")
    return f"""
    {_rules_and_stages()},
    at_touch AS (
        SELECT t.id, t.tactic_id, t.deal_id, t.prospect, t.occurred_at, t.responded,
               rule_now.window_days, {week} AS week,
               (SELECT e.stage_id FROM {StageEvent._meta.db_table} e
                JOIN stage_of so ON so.id = e.stage_id
                WHERE e.deal_id = t.deal_id AND e.occurred_at <= t.occurred_at
                ORDER BY e.occurred_at DESC, so.position DESC LIMIT 1) AS stage_id
        FROM {Touch._meta.db_table} t
        LEFT JOIN rule_now ON rule_now.tactic_id = t.tactic_id
        WHERE t.team_id = %(team)s
    ),
    judged AS MATERIALIZED (
        SELECT a.id, a.tactic_id, a.deal_id, a.prospect, a.occurred_at, a.week,
               COALESCE(so.station, '') AS station, dl.status,
               CASE WHEN a.responded THEN 1
                    WHEN a.responded IS NULL AND a.window_days IS NOT NULL AND EXISTS (
                        SELECT 1 FROM {StageEvent._meta.db_table} e
                        WHERE e.deal_id = a.deal_id AND e.occurred_at > a.occurred_at
                          AND e.occurred_at <= {until}
                          AND (e.stage_id IS NOT NULL OR e.outcome = 'won')) THEN 1
                    ELSE 0 END AS answered,
               CASE WHEN a.deal_id IS NOT NULL AND EXISTS (
                        SELECT 1 FROM {StageEvent._meta.db_table} e
                        LEFT JOIN stage_of later ON later.id = e.stage_id
                        WHERE e.deal_id = a.deal_id AND e.occurred_at > a.occurred_at
                          AND (e.outcome = 'won' OR later.position > COALESCE(so.position, 0))
                    ) THEN 1 ELSE 0 END AS advanced
        FROM at_touch a
        LEFT JOIN stage_of so ON so.id = a.stage_id
        LEFT JOIN {Deal._meta.db_table} dl ON dl.id = a.deal_id
    )"""


# A won deal's "later stage": beyond every position.
WON_POSITION = 2147483647


def _judged_by_windows() -> str:
    """`judged` as _judged_by_probes defines it, computed by two window passes over each
    deal's touches and events merged in time order instead of three probes per touch
    (PostgreSQL: a million touches in seconds, not minutes):
    - forwards, events before touches at one instant (an event at the touch's instant counts):
      the stage of the latest event at or before the touch at one of the team's stages, ties by
      the stage's position, as the greatest [epoch, position, stage] so far;
    - backwards, touches before events at one instant (only events strictly after count): the
      earliest later event that enters a stage or wins (the answer, when within the rule's
      window), and the furthest later position, a win beyond every stage (advanced).
    """
    d = _dialect()
    week = d["week"].format("t.occurred_at")
    until = d["plus_days"].format("m.occurred_at", "m.window_days")
    event = StageEvent._meta.db_table
    return f"""
    {_rules_and_stages()},
    touches AS (
        SELECT t.id, t.tactic_id, t.deal_id, t.prospect, t.occurred_at, t.responded,
               rule_now.window_days, {week} AS week
        FROM {Touch._meta.db_table} t
        LEFT JOIN rule_now ON rule_now.tactic_id = t.tactic_id
        WHERE t.team_id = %(team)s
    ),
    stream AS (
        SELECT deal_id, occurred_at, 1 AS kind, id AS touch_id,
               NULL::numeric[] AS mark, NULL::timestamptz AS move_at, NULL::bigint AS reach
        FROM touches WHERE deal_id IS NOT NULL
        UNION ALL
        SELECT e.deal_id, e.occurred_at, 0, NULL,
               CASE WHEN so.id IS NOT NULL THEN ARRAY[
                   EXTRACT(EPOCH FROM e.occurred_at), so.position, e.stage_id]::numeric[] END,
               CASE WHEN e.stage_id IS NOT NULL OR e.outcome = 'won' THEN e.occurred_at END,
               CASE WHEN e.outcome = 'won' THEN {WON_POSITION} ELSE so.position END
        FROM {event} e
        LEFT JOIN stage_of so ON so.id = e.stage_id
        WHERE e.team_id = %(team)s
          AND e.deal_id IN (SELECT deal_id FROM touches WHERE deal_id IS NOT NULL)
    ),
    passes AS (
        SELECT kind, touch_id,
               MAX(mark) OVER (PARTITION BY deal_id ORDER BY occurred_at, kind
                               ROWS UNBOUNDED PRECEDING) AS last_mark,
               MIN(move_at) OVER (PARTITION BY deal_id ORDER BY occurred_at DESC, kind DESC
                                  ROWS UNBOUNDED PRECEDING) AS next_move,
               MAX(reach) OVER (PARTITION BY deal_id ORDER BY occurred_at DESC, kind DESC
                                ROWS UNBOUNDED PRECEDING) AS furthest
        FROM stream
    ),
    marked AS (
        SELECT t.*, p.next_move, p.furthest,
               CAST(p.last_mark[3] AS bigint) AS stage_id
        FROM touches t
        LEFT JOIN passes p ON p.kind = 1 AND p.touch_id = t.id
    ),
    judged AS (
        SELECT m.id, m.tactic_id, m.deal_id, m.prospect, m.occurred_at, m.week,
               COALESCE(so.station, '') AS station, dl.status,
               CASE WHEN m.responded THEN 1
                    WHEN m.responded IS NULL AND m.window_days IS NOT NULL
                         AND m.next_move <= {until} THEN 1
                    ELSE 0 END AS answered,
               CASE WHEN m.deal_id IS NOT NULL
                         AND m.furthest > COALESCE(so.position, 0) THEN 1
                    ELSE 0 END AS advanced
        FROM marked m
        LEFT JOIN stage_of so ON so.id = m.stage_id
        LEFT JOIN {Deal._meta.db_table} dl ON dl.id = m.deal_id
    )"""


def _judged_sql() -> str:
    """The statement that fills the JUDGED table, once for both counts."""
    judged = _judged_by_windows() if connection.vendor == "postgresql" else _judged_by_probes()
    return f"CREATE TEMPORARY TABLE {JUDGED} AS WITH {judged} SELECT * FROM judged"


def _touch_week_sql() -> str:
    # A deal's last answered touch of a tactic (in its station, and in any): ranked among the
    # deal's answered touches of the tactic, latest first.
    return f"""
    WITH ranked AS (
        SELECT j.*,
               CASE WHEN j.answered = 1 AND j.deal_id IS NOT NULL THEN ROW_NUMBER() OVER (
                   PARTITION BY j.deal_id, j.tactic_id, j.station, j.answered
                   ORDER BY j.occurred_at DESC, j.id DESC) END AS last_in_station,
               CASE WHEN j.answered = 1 AND j.deal_id IS NOT NULL THEN ROW_NUMBER() OVER (
                   PARTITION BY j.deal_id, j.tactic_id, j.answered
                   ORDER BY j.occurred_at DESC, j.id DESC) END AS last_any
        FROM {JUDGED} j
    )
    INSERT INTO {TouchWeekCount._meta.db_table}
        (team_id, tactic_id, station, week, touches, answers, deal_answers, answers_advanced,
         deals_answered, deals_answered_won, deals_answered_any, deals_answered_any_won)
    SELECT %(team)s, tactic_id, station, week, COUNT(*), SUM(answered),
           SUM(CASE WHEN answered = 1 AND deal_id IS NOT NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN answered = 1 AND advanced = 1 THEN 1 ELSE 0 END),
           SUM(CASE WHEN last_in_station = 1 THEN 1 ELSE 0 END),
           SUM(CASE WHEN last_in_station = 1 AND status = 'won' THEN 1 ELSE 0 END),
           SUM(CASE WHEN last_any = 1 THEN 1 ELSE 0 END),
           SUM(CASE WHEN last_any = 1 AND status = 'won' THEN 1 ELSE 0 END)
    FROM ranked
    GROUP BY tactic_id, station, week
    """


def _prospect_week_sql() -> str:
    # A prospect is a (deal, prospect id) pair, as the touches name it. k: the touch's rank
    # among the prospect's touches, latest first; the week of the last answer over the same touches.
    return f"""
    WITH ranked AS (
        SELECT j.station, j.week,
               ROW_NUMBER() OVER (PARTITION BY j.deal_id, j.prospect, j.station
                                  ORDER BY j.occurred_at DESC, j.id DESC) AS k,
               MAX(CASE WHEN j.answered = 1 THEN j.week END)
                   OVER (PARTITION BY j.deal_id, j.prospect, j.station) AS answer_week,
               ROW_NUMBER() OVER (PARTITION BY j.deal_id, j.prospect
                                  ORDER BY j.occurred_at DESC, j.id DESC) AS k_any,
               MAX(CASE WHEN j.answered = 1 THEN j.week END)
                   OVER (PARTITION BY j.deal_id, j.prospect) AS answer_week_any
        FROM {JUDGED} j
    ),
    cells AS (
        SELECT station, week, k AS at_least, 1 AS p, 0 AS a, 0 AS p_any, 0 AS a_any
        FROM ranked WHERE k <= 5
        UNION ALL
        SELECT station, CASE WHEN answer_week < week THEN answer_week ELSE week END,
               k, 0, 1, 0, 0
        FROM ranked WHERE k <= 5 AND answer_week IS NOT NULL
        UNION ALL
        SELECT station, week, k_any, 0, 0, 1, 0
        FROM ranked WHERE k_any <= 5
        UNION ALL
        SELECT station, CASE WHEN answer_week_any < week THEN answer_week_any ELSE week END,
               k_any, 0, 0, 0, 1
        FROM ranked WHERE k_any <= 5 AND answer_week_any IS NOT NULL
    )
    INSERT INTO {ProspectWeekCount._meta.db_table}
        (team_id, station, week, at_least, prospects, answered, prospects_any, answered_any)
    SELECT %(team)s, station, week, at_least, SUM(p), SUM(a), SUM(p_any), SUM(a_any)
    FROM cells
    GROUP BY station, week, at_least
    """


def team_tactics_rebuild(*, team: Team, now: dt.datetime | None = None) -> tuple[int, int]:
    """Replace the team's tactics counts under its recompute lock; returns the rows written
    (touch weeks, prospect weeks). Idempotent."""
    started = time.perf_counter()
    now = now or timezone.now()
    params = {"team": team.id, "tz": settings.TIME_ZONE}
    with transaction.atomic(), connection.cursor() as cursor:
        team_lock(team)
        if connection.vendor == "postgresql":
            # Room for the window sorts of a million touches in memory; and no JIT: compiling
            # this plan took 10 s of a 13 s rebuild of 20,000 touches.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
        TouchWeekCount.objects.filter(team=team).delete()
        ProspectWeekCount.objects.filter(team=team).delete()
        # Every touch judged once, into a table of the session that both counts read.
        cursor.execute(f"DROP TABLE IF EXISTS {JUDGED}")
        cursor.execute(_judged_sql(), params)
        cursor.execute(_touch_week_sql(), params)
        cursor.execute(_prospect_week_sql(), params)
        cursor.execute(f"DROP TABLE {JUDGED}")
        touch_weeks = TouchWeekCount.objects.filter(team=team).count()
        prospect_weeks = ProspectWeekCount.objects.filter(team=team).count()
        horizon = Touch.objects.filter(team=team).aggregate(last=Max("occurred_at"))["last"]
        RecomputeState.objects.filter(team=team).update(
            tactics_at=now, tactics_horizon=horizon, tactics_stale=False
        )
    logger.info(
        "tactics counts team=%s touch_weeks=%d prospect_weeks=%d in %.0f ms",
        team.slug,
        touch_weeks,
        prospect_weeks,
        (time.perf_counter() - started) * 1000,
    )
    return touch_weeks, prospect_weeks


def team_tactics_ensure(*, team: Team) -> RecomputeState:
    """The page's first read: build the counts when they were never built (a team that
    predates them, or whose first touches arrived while no worker ran)."""
    state = RecomputeState.objects.filter(team=team).first()
    if state is None or state.tactics_at is None:
        team_tactics_rebuild(team=team)
        state = RecomputeState.objects.get(team=team)
    return state
