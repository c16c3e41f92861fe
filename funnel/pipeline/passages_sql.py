"""Passages re-derived from the event log in one SQL statement (PostgreSQL): every deal of a
team for the nightly rebuild (`team_passages_sync_sql`), or the deals a drain took in, with the
difference applied to StageFlow as a delta (`deals_passages_sync_sql`).

The same derivation as funnel.pipeline.passages (`journey_from_events`, `_journey_of_team`,
`StageMaps.ordered_for`) and funnel.metrics.accounting.stage_passages, over the whole log at
once instead of deal by deal in Python; tests/funnel/test_passages_sql.py checks that both give
the same rows on random logs. Per deal, in one grouping of its events:

- its log is the events of the deal (whatever team_id they carry: the Python path reads them by
  deal); an event at a stage that is not the team's is skipped, and counted;
- it was won or lost when its last event in the log's order is that outcome: at the latest
  instant of the log, outcomes sort after stages and won after lost (funnel.positions), so the
  last event is a win if one is at that instant, else a loss if one is, else a stage (the deal
  is open, as when it was reopened after a win or a loss);
- an open deal whose last event (skipped or not) is before the stale cut is lost at that event
  + N days (funnel.metrics.stale);
- the stages it may pass are the team's stages, less a retired one when the deal opened (its
  first event) at or after the retirement;
- for each of them up to the furthest it entered (every one when won): it left the stage at its
  first entry into any later stage, entered it at the earlier of that and its first entry into
  the stage itself, and skipped it when it never entered it. The team's stages are few and
  known, so each deal's first entry into each is one column of the grouping and "any later
  stage" a LEAST over the columns after it: no sort, no window;
- a deal lost before it entered any stage was lost at the first stage it may pass.

Each deal's log is read through its index (stage_event_deal_time), never by a scan of every
team's events. Only the passages that differ from the stored ones are written (the nightly
repair usually finds none), so a rebuild leaves no table of dead rows behind it; the team's
StageFlow counts are inserted from the derived rows in the same statement.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from funnel.bulk import ids_array
from funnel.models import Deal, DealPassage, StageEvent, StageFlow

_DERIVE = """
WITH maps AS (
    SELECT * FROM unnest(%(map_ids)s::bigint[], %(map_pos)s::int[]) AS m(stage_id, pos)
),
deal AS (
    SELECT e.deal_id,
           min(e.occurred_at) AS opened,
           max(e.occurred_at) AS last_at,
           max(m.pos) AS furthest,
           max(e.occurred_at) FILTER (WHERE e.stage_id IS NULL OR m.pos IS NOT NULL) AS kept_at,
           max(e.occurred_at) FILTER (WHERE e.outcome = 'won') AS won_at,
           max(e.occurred_at) FILTER (WHERE e.outcome = 'lost') AS lost_at,
           count(*) FILTER (WHERE e.stage_id IS NOT NULL AND m.pos IS NULL) AS foreign_events,
           {firsts}
    {log}
    GROUP BY e.deal_id
),
closed AS (
    SELECT deal.*, ARRAY[{firsts_array}] AS firsts, ARRAY[{beyonds_array}] AS beyonds,
           CASE WHEN won_at = kept_at THEN 'won'
                WHEN lost_at = kept_at THEN 'lost'
                WHEN last_at < %(stale_cutoff)s THEN 'lost'
                ELSE 'open' END AS outcome,
           CASE WHEN won_at = kept_at OR lost_at = kept_at THEN kept_at
                WHEN last_at < %(stale_cutoff)s
                    THEN last_at + make_interval(secs => %(stale_seconds)s::float8)
           END AS closed_at,
           CASE {first_passable} END AS first_pos
    FROM deal
),
grid AS (
    SELECT c.deal_id, s.stage_id, c.outcome, c.closed_at,
           c.firsts[s.i] AS first_at, c.beyonds[s.i] AS beyond_at
    FROM closed c
    JOIN (VALUES {stages}) AS s(i, pos, stage_id, retired_at)
      ON s.stage_id IS NOT NULL AND (s.retired_at IS NULL OR c.opened < s.retired_at)
     AND (s.pos <= c.furthest OR c.outcome = 'won'
          OR (c.furthest IS NULL AND c.outcome = 'lost' AND s.pos = c.first_pos))
),
derived AS MATERIALIZED (
    SELECT deal_id, stage_id,
           coalesce(least(beyond_at, first_at), closed_at) AS entered_at,
           coalesce(beyond_at, closed_at) AS left_at,
           CASE WHEN beyond_at IS NOT NULL OR outcome = 'won' THEN 'advanced'
                WHEN outcome = 'lost' THEN 'lost'
                ELSE 'open' END AS result,
           first_at IS NULL AS skipped
    FROM grid
),
"""

# The derived passages against the stored ones (`stored_where`): only the differences are
# written, and `diff` keeps each changed passage's old values for the drain's delta. `bound`
# limits the rows the writes may visit.
_WRITE = """
stored AS (
    SELECT id, deal_id, stage_id, entered_at, left_at, result, skipped
    FROM {passages} WHERE {stored_where}
),
diff AS MATERIALIZED (
    SELECT s.id, p.deal_id, p.stage_id, p.entered_at, p.left_at, p.result, p.skipped,
           s.stage_id AS old_stage_id, s.entered_at AS old_entered_at, s.left_at AS old_left_at,
           s.result AS old_result, s.skipped AS old_skipped
    FROM derived p
    FULL JOIN stored s ON s.deal_id = p.deal_id AND s.stage_id = p.stage_id
    WHERE s.id IS NULL OR p.deal_id IS NULL
       OR (s.entered_at, s.left_at, s.result, s.skipped)
          IS DISTINCT FROM (p.entered_at, p.left_at, p.result, p.skipped)
),
gone AS (
    DELETE FROM {passages} t USING diff
    WHERE {bound} t.id = diff.id AND diff.deal_id IS NULL
    RETURNING 1
),
changed AS (
    UPDATE {passages} t
    SET entered_at = diff.entered_at, left_at = diff.left_at, result = diff.result,
        skipped = diff.skipped
    FROM diff WHERE {bound} t.id = diff.id AND diff.deal_id IS NOT NULL
    RETURNING 1
),
added AS (
    INSERT INTO {passages} (team_id, deal_id, stage_id, entered_at, left_at, result, skipped)
    SELECT %(team)s, deal_id, stage_id, entered_at, left_at, result, skipped
    FROM diff WHERE id IS NULL ORDER BY deal_id, stage_id
    RETURNING 1
),
"""

_SYNC = (
    _DERIVE
    + _WRITE
    + """
flow AS (
    INSERT INTO {flow} (team_id, stage_id, week, kind, days, count)
    {flow_select}
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM changed),
       (SELECT count(*) FROM added), (SELECT coalesce(sum(foreign_events), 0) FROM deal)
"""
)

# The drain's: the same derivation for the deals in %(ids)s, compared with their stored
# passages, and the difference applied to StageFlow as a delta (each changed or removed
# passage's old cells -1, each new or changed one's +1), upserted in the cells' order (two
# writers lock them in the same order). A deal with no event is not in `deal`: its stored
# passages stay, as the Python path leaves them. The passages read and written are bounded by
# the deals' ids (`deal_id = ANY`), so that no estimate of the CTEs' sizes can turn a drain's
# update into a walk of the team's whole table.
_DRAIN = (
    _DERIVE
    + _WRITE
    + """
moved AS (
    SELECT stage_id, entered_at, left_at, result, skipped, 1 AS sign
    FROM diff WHERE deal_id IS NOT NULL
    UNION ALL
    SELECT old_stage_id, old_entered_at, old_left_at, old_result, old_skipped, -1
    FROM diff WHERE id IS NOT NULL
),
cells AS (
    SELECT stage_id, week, kind, days, sum(sign)::int AS n
    FROM (
        SELECT stage_id, date_trunc('week', entered_at AT TIME ZONE %(tz)s)::date AS week,
               'entered'::varchar AS kind, -1 AS days, sign
        FROM moved
        UNION ALL
        SELECT stage_id, date_trunc('week', left_at AT TIME ZONE %(tz)s)::date, result,
               CASE WHEN skipped THEN -1 ELSE LEAST(GREATEST(
                   floor(date_part('epoch', left_at - entered_at) / 86400), 0), 32767)
               END::int,
               sign
        FROM moved WHERE left_at IS NOT NULL AND result <> 'open'
    ) keyed
    GROUP BY stage_id, week, kind, days
    HAVING sum(sign) <> 0
),
flow AS (
    INSERT INTO {flow} (team_id, stage_id, week, kind, days, count)
    SELECT %(team)s, stage_id, week, kind, days, n FROM cells
    ORDER BY stage_id, week, kind COLLATE "C", days
    ON CONFLICT (team_id, stage_id, week, kind, days)
    DO UPDATE SET count = {flow}.count + EXCLUDED.count
    RETURNING id, count, stage_id, week
)
SELECT (SELECT coalesce(sum(foreign_events), 0) FROM deal),
       (SELECT array_agg(id) FILTER (WHERE count = 0) FROM flow),
       (SELECT array_agg(stage_id) FROM flow), (SELECT array_agg(week) FROM flow)
"""
)


def flow_select(source: str) -> str:
    """The SELECT of a team's StageFlow rows from its passages in `source` (a table or CTE and
    its WHERE), parameters team and tz. Entries and exits grouped apart (the entries need no
    days), and whole days from date_part (double precision): extract() returns numeric, which
    cost a third more."""
    return f"""
        SELECT %(team)s, stage_id, date_trunc('week', entered_at AT TIME ZONE %(tz)s)::date,
               'entered', -1, count(*)
        FROM {source}
        GROUP BY 2, 3
        UNION ALL
        SELECT %(team)s, stage_id, date_trunc('week', left_at AT TIME ZONE %(tz)s)::date,
               result,
               CASE WHEN skipped THEN -1 ELSE LEAST(GREATEST(
                   floor(date_part('epoch', left_at - entered_at) / 86400), 0), 32767)
               END::int,
               count(*)
        FROM {source} AND left_at IS NOT NULL AND result <> 'open'
        GROUP BY 2, 3, 4, 5
    """


# Every deal's log of the team, each through its index, as the Python path reads it: no scan
# of the whole table (every team's events) for one team, and no hash of them.
_TEAM_LOG = """FROM {deals} d
    CROSS JOIN LATERAL (SELECT * FROM {events} e WHERE e.deal_id = d.id OFFSET 0) e
    LEFT JOIN maps m ON m.stage_id = e.stage_id
    WHERE d.team_id = %(team)s"""

# The logs of the drained deals (the caller locked them, the team's), in one index scan.
_DEALS_LOG = """FROM {events} e
    LEFT JOIN maps m ON m.stage_id = e.stage_id
    WHERE e.deal_id = ANY(%(ids)s::bigint[])"""


_TEAM_PASSAGES = {"stored_where": "team_id = %(team)s", "bound": ""}
_DEALS_PASSAGES = {
    "stored_where": "deal_id = ANY(%(ids)s::bigint[]) AND deal_id IN (SELECT deal_id FROM deal)",
    "bound": "t.deal_id = ANY(%(ids)s::bigint[]) AND",
}


def _statement(
    own: list[tuple[int, int]],
    template: str = _SYNC,
    log: str = _TEAM_LOG,
    passages: dict = _TEAM_PASSAGES,
) -> str:
    """The statement for a team whose own stages are `own` (position, stage id) in order.
    Stage i's first entry is column f{i} of the grouping; a deal leaves stage i at the least of
    the columns after it. Integers from the database are written into the text, the
    retirements are parameters. A team without stages gets one stage row that matches
    nothing."""
    n = len(own)
    if not n:
        own, n = [(0, 0)], 1
    firsts = ",\n           ".join(
        f"min(e.occurred_at) FILTER (WHERE m.pos = {int(pos)}) AS f{i}"
        for i, (pos, _) in enumerate(own)
    )
    beyonds = [
        f"least({', '.join(f'f{j}' for j in range(i + 1, n))})" if i + 1 < n else "NULL"
        for i in range(n)
    ]
    stages = ", ".join(
        f"({i + 1}, {int(pos)}, {int(stage_id) or 'NULL'}::bigint, %(r{i})s::timestamptz)"
        for i, (pos, stage_id) in enumerate(own)
    )
    first_passable = " ".join(
        f"WHEN %(r{i})s::timestamptz IS NULL OR opened < %(r{i})s THEN {int(pos)}"
        for i, (pos, _) in enumerate(own)
    )
    return template.format(
        **passages,
        log=log.format(deals=Deal._meta.db_table, events=StageEvent._meta.db_table),
        firsts=firsts,
        firsts_array=", ".join(f"f{i}" for i in range(n)),
        beyonds_array="::timestamptz, ".join(beyonds) + "::timestamptz",
        stages=stages,
        first_passable=first_passable,
        deals=Deal._meta.db_table,
        events=StageEvent._meta.db_table,
        passages=DealPassage._meta.db_table,
        flow=StageFlow._meta.db_table,
        flow_select=flow_select("derived WHERE true"),
    )


def team_passages_sync_sql(*, team_id: int, maps, stale) -> tuple[int, int]:
    """Make the team's stored passages those its log gives under the stale cut `stale` (None:
    the rule is off), and insert its StageFlow counts from them (the caller deleted the old
    ones), in one statement; `maps` is the team's funnel.pipeline.passages.StageMaps.
    Returns (passages deleted, updated or inserted; events skipped at a stage that is not the
    team's)."""
    own = sorted(maps.stage_at.items())
    params = _params(team_id, maps, stale)
    with connection.cursor() as cursor:
        # Room for the grouping (a row per deal) and the comparison with the stored passages.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Compiling the expressions took longer than it saved (about a second at 280,000 deals).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_statement(own), params)
        gone, changed, added, foreign = cursor.fetchone()
    return gone + changed + added, foreign


def deals_passages_sync_sql(*, team_id: int, deal_ids: list[int], maps, stale) -> tuple[set, int]:
    """The drain's statement: make the passages of these deals (locked by the caller) those
    their logs give under the stale cut `stale`, and apply the difference to the team's
    StageFlow counts, dropping the cells it brings to 0. Returns (the (stage id, week) cells
    it changed, events skipped at a stage that is not the team's)."""
    own = sorted(maps.stage_at.items())
    params = _params(team_id, maps, stale) | {"ids": ids_array(deal_ids)}
    with connection.cursor() as cursor:
        # Compiling the expressions costs more than a drain's statement runs.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_statement(own, _DRAIN, _DEALS_LOG, _DEALS_PASSAGES), params)
        foreign, emptied, stage_ids, weeks = cursor.fetchone()
        if emptied:
            # Apart: a statement cannot see the rows its own upsert changed.
            cursor.execute(f"DELETE FROM {StageFlow._meta.db_table} WHERE id = ANY(%s)", [emptied])
    return set(zip(stage_ids or (), weeks or (), strict=True)), foreign


def _params(team_id: int, maps, stale) -> dict:
    own = sorted(maps.stage_at.items())
    return {
        "team": team_id,
        "map_ids": list(maps.positions),
        "map_pos": list(maps.positions.values()),
        "stale_cutoff": stale.cutoff if stale else None,
        "stale_seconds": stale.days * 86400 if stale else 0,
        "tz": settings.TIME_ZONE,
    } | {f"r{i}": maps.retired.get(pos) for i, (pos, _) in enumerate(own or [(0, 0)])}
