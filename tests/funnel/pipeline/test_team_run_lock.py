"""One run per team at a time (issue 18, item 5): a team's run lock is a PostgreSQL session
advisory lock, so it is seen from a second connection, as another worker process would hold it.
A run that finds its team busy is sent again later by the real worker, not run beside the other
and not lost; the lock is released when the block it guards fails."""

import datetime as dt
import time

import psycopg
import pytest
from django.db import connection

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import BottleneckStatus, RecomputeState, StageEvent, StageFlow
from funnel.pipeline.run import team_rebuild
from funnel.pipeline.run_lock import TEAM_RUN_LOCK_SPACE, team_run_lock
from funnel.services import team_create
from tests.integration_support import wait_for

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STAGES = ["inquiry", "engaged", "qualified", "proposal"]


def _other_session() -> psycopg.Connection:
    """A second session on the test database: another worker process, as PostgreSQL sees it."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    )


def _try_lock(session: psycopg.Connection, team_id: int) -> bool:
    row = session.execute(
        "SELECT pg_try_advisory_lock(%s, %s)", [TEAM_RUN_LOCK_SPACE, team_id]
    ).fetchone()
    return row[0]


def _flow(team) -> set:
    return set(
        StageFlow.objects.filter(team=team).values_list("stage_id", "week", "kind", "days", "count")
    )


def _verdict(team) -> tuple:
    status = BottleneckStatus.objects.filter(team=team).order_by("-computed_at", "-id").first()
    return status.verdict, status.stage_id, status.station


def test_a_run_of_a_busy_team_is_deferred_then_done_once_the_lock_is_free(celery_worker):
    team = team_create(slug="busy", name="Busy")
    other = _other_session()
    try:
        assert _try_lock(other, team.id)  # another worker is in the middle of this team's run
        events = [
            EventIn(
                event_id=f"e{i}",
                deal_external_id=f"D{i % 40}",
                occurred_at=T0 + dt.timedelta(days=i // 40 * 9, hours=i % 40),
                stage=STAGES[i // 40],
            )
            for i in range(160)
        ]
        stage_events_ingest(team=team, events=events, origin="api")  # asks for a run on commit
        # The worker takes the message, finds the team busy and sends it again (every 2 s by
        # default): for several rounds, no run starts and the request stays waiting.
        wait_for(
            lambda: RecomputeState.objects.filter(team=team, queued=True).exists(),
            what="the request",
        )
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        while dt.datetime.now(dt.UTC) < deadline:
            state = RecomputeState.objects.get(team=team)
            assert state.runs == 0 and state.queued, "a run started while the team was busy"
            assert not BottleneckStatus.objects.filter(team=team).exists()
            time.sleep(0.2)
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [TEAM_RUN_LOCK_SPACE, team.id])
    finally:
        other.close()

    last = StageEvent.objects.filter(team=team).order_by("-id").values_list("id", flat=True)[0]
    wait_for(
        lambda: BottleneckStatus.objects.filter(team=team, watermark__gte=last).exists(),
        timeout=60,
        what="the deferred run",
    )
    state = RecomputeState.objects.get(team=team)
    assert state.runs == 1 and not state.queued
    deferred_flow, deferred_verdict = _flow(team), _verdict(team)
    assert sum(c for _, _, kind, _, c in deferred_flow if kind == "entered") == 160

    team_rebuild(team=team)  # a clean recompute from the whole log
    assert _flow(team) == deferred_flow
    assert _verdict(team) == deferred_verdict


def test_the_lock_is_per_team_and_released_when_the_run_fails(db):
    north = team_create(slug="lock-north", name="North")
    south = team_create(slug="lock-south", name="South")
    other = _other_session()
    try:
        with pytest.raises(RuntimeError), team_run_lock(team_id=north.id) as held:
            assert held
            assert not _try_lock(other, north.id)  # the other session finds north busy
            assert _try_lock(other, south.id)  # and south free: no lock beyond the team
            raise RuntimeError("the run fails inside the lock")
        assert _try_lock(other, north.id)  # released by the failure
        with team_run_lock(team_id=north.id) as held:
            assert held is False  # now the other session has it; nothing waits
        with team_run_lock(team_id=south.id) as held:
            assert held is False
    finally:
        other.close()

    def north_free() -> bool:
        with team_run_lock(team_id=north.id) as held:
            return held

    # Closing a session frees its locks (once the server has seen the session end).
    wait_for(north_free, timeout=10, what="the closed session's lock to go")
