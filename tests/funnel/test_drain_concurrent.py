"""Batches and the recompute's drain running at once lose nothing (real PostgreSQL)."""

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from django.db import connection

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import PendingDeal, StageFlow
from funnel.passages import team_flow_rebuild, team_pending_drain

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STAGES = ["inquiry", "engaged", "qualified", "proposal", "negotiation"]


def _flow(team):
    return Counter(
        {(r.stage_id, r.week, r.kind, r.days): r.count for r in StageFlow.objects.filter(team=team)}
    )


def test_batches_during_drains_end_in_the_rebuilt_counts(transactional_db, team):
    assert connection.vendor == "postgresql"
    rng = random.Random(5)
    # 40 deals; every batch touches many of them, in and out of time order.
    batches = [
        [
            EventIn(
                event_id=f"w{w}-b{b}-e{i}",
                deal_external_id=f"D{rng.randrange(40)}",
                occurred_at=T0 + dt.timedelta(hours=rng.randrange(24 * 60)),
                stage=rng.choice(STAGES),
            )
            for i in range(60)
        ]
        for w in range(3)
        for b in range(6)
    ]
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(chunk):
        try:
            for batch in chunk:
                stage_events_ingest(team=team, events=batch, origin="api", schedule_recompute=False)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def drain():
        try:
            while not stop.is_set():
                team_pending_drain(team=team, chunk=7)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    writers = [threading.Thread(target=write, args=(batches[w::3],)) for w in range(3)]
    drainer = threading.Thread(target=drain)
    drainer.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    drainer.join(timeout=120)
    assert errors == []
    team_pending_drain(team=team)
    assert not PendingDeal.objects.filter(team=team).exists()
    kept = _flow(team)
    team_flow_rebuild(team=team)
    assert kept == _flow(team)
    assert sum(n for (_, _, kind, _), n in kept.items() if kind == "entered") > 0
