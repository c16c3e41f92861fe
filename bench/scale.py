"""A company of many teams for bench_scale: sizes, the COPY load, and the plain-SQL floor.

Team sizes are skewed the way companies are: team k (1..n) gets a share of the deals
proportional to 1 / k**SKEW (Zipf-like), so at 100 teams and 10,000,000 deals the largest
holds 1,229,342 deals, the median team 52,919 and the smallest 30,879.
Each team is a generated year (bench.synthetic) loaded with COPY with its passages
(bench.data.funnel_copy); the weekly counts and the verdict are left for the rebuild to make.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np
from django.conf import settings
from django.db import connection

from bench.data import funnel_copy
from bench.synthetic import FunnelShape, funnel_generate
from funnel.models import Deal, StageEvent, Team
from funnel.services import team_create

SKEW = 0.8
SLUG = "scale-{:03d}"


def team_sizes(*, teams: int, deals: int) -> list[int]:
    """Deals per team (largest first), summing to `deals` exactly."""
    weights = 1 / np.arange(1, teams + 1) ** SKEW
    sizes = np.floor(deals * weights / weights.sum()).astype(int)
    sizes[: deals - sizes.sum()] += 1
    return sizes.tolist()


def scale_teams() -> list[Team]:
    return list(Team.objects.filter(slug__startswith="scale-").order_by("slug"))


def scale_team_load(*, index: int, deals: int, now: dt.datetime, seed: int) -> tuple[int, int]:
    """Create team `index` and COPY a generated year of about `deals` deals into it.
    Returns (deals, events) as loaded."""
    slug = SLUG.format(index)
    team = team_create(slug=slug, name=f"Scale team {index:03d}")
    shape = FunnelShape(weeks=52, arrivals_per_week=deals / 52, seed=seed + index)
    generated = funnel_generate(shape, now=now)
    loaded = funnel_copy(team=team, generated=generated, now=now, prefix="s")
    return loaded.deals, loaded.events


def team_floor_sql(team_id: int) -> str:
    """The same aggregates the rebuild makes, in one plain SQL statement over the event log:
    each stage visit is a passage that ends at the deal's next event (lost if that event is a
    loss, advanced otherwise); entries by week, exits by week, result and whole days; and the
    open deals' ages by stage. Judged against the app's whole rebuild of the team."""
    events, deals = StageEvent._meta.db_table, Deal._meta.db_table
    tz = settings.TIME_ZONE
    return f"""
        WITH e AS MATERIALIZED (
            SELECT stage_id, occurred_at,
                   lead(occurred_at) OVER w AS next_at, lead(outcome) OVER w AS next_outcome
            FROM {events} WHERE team_id = {team_id:d}
            WINDOW w AS (PARTITION BY deal_id ORDER BY occurred_at, id)
        )
        SELECT stage_id, date_trunc('week', occurred_at AT TIME ZONE '{tz}')::date,
               'entered', -1, count(*)
        FROM e WHERE stage_id IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT stage_id, date_trunc('week', next_at AT TIME ZONE '{tz}')::date,
               CASE WHEN next_outcome = 'lost' THEN 'lost' ELSE 'advanced' END,
               LEAST(GREATEST(floor(date_part('epoch', next_at - occurred_at) / 86400), 0),
                     32767)::int,
               count(*)
        FROM e WHERE stage_id IS NOT NULL AND next_at IS NOT NULL GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT current_stage_id, NULL, 'open',
               floor(date_part('epoch', now() - stage_entered_at) / 86400)::int, count(*)
        FROM {deals} WHERE team_id = {team_id:d} AND status = 'open'
        GROUP BY 1, 4
    """


def team_floor_run(cursor, team_id: int) -> int:
    """Run the floor for one team on a plain psycopg cursor; returns the cells it counted."""
    cursor.execute("SET work_mem = '64MB'")
    cursor.execute(team_floor_sql(team_id))
    return len(cursor.fetchall())


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def table_sizes() -> dict[str, int]:
    """Bytes on disk (with indexes and TOAST) of the biggest tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "ORDER BY 2 DESC LIMIT 6"
        )
        return dict(cursor.fetchall())
