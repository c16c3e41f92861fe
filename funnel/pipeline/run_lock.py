"""One run per team at a time, across every worker process and host.

A team's recompute is several transactions (the drain in chunks, the snapshots, the winnable
counts), each under the team's row lock (passages.team_lock); two runs of one team could still
interleave between them, and the second would only wait on the first, holding a worker that
another team could use. The run lock spans the whole run: a PostgreSQL session advisory lock
keyed on the team (pg_try_advisory_lock), which never waits. A task that finds it held is sent
again after TEAM_BUSY_RETRY_SECONDS (funnel.pipeline.run), so the run is deferred, never lost,
and the worker goes on with other teams: recompute work partitions by team whatever the number
of workers. The lock dies with its connection, so a killed worker never leaves a team locked.

With eager Celery (no broker: the run happens inside the write's process) a busy team is waited
for instead, since a deferred task would run again at once. SQLite has one writer at a time
and no advisory locks: the lock is a no-op there.

The lock needs a session that lives as long as the run: behind a transaction-pooling
PgBouncer, workers must connect directly (or in session mode).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery import current_app
from django.db import connection

logger = logging.getLogger(__name__)

# The first key of the two-key advisory lock space: the team's runs (the company roll-up uses
# the one-key space, funnel.pipeline.company).
TEAM_RUN_LOCK_SPACE = 0x7E4A  # any constant; the same in every process


@contextmanager
def team_run_lock(*, team_id: int) -> Iterator[bool]:
    """Hold the team's run lock for the block; yields False (and holds nothing) when another
    run of the team has it. Released when the block ends, by an error too."""
    if connection.vendor != "postgresql":
        yield True
        return
    wait = current_app.conf.task_always_eager
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [TEAM_RUN_LOCK_SPACE, team_id])
            held = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [TEAM_RUN_LOCK_SPACE, team_id])
            held = cursor.fetchone()[0]
    if not held:
        yield False
        return
    try:
        yield True
    finally:
        _unlock(team_id)


def _unlock(team_id: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [TEAM_RUN_LOCK_SPACE, team_id])
    except Exception:
        # A broken connection has released the lock with its session; closing it makes sure.
        logger.exception("team run lock of team %s: unlock failed; closing the connection", team_id)
        connection.close()
