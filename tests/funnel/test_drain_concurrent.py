"""Batches and the recompute's drain running at once lose nothing and never deadlock (real
PostgreSQL)."""

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from django.db import connection

from funnel import bulk
from funnel.ingest import EventIn, stage_events_ingest
from funnel.ingest.writes import BatchWriter
from funnel.models import Deal, PendingDeal, StageEvent, StageFlow
from funnel.pipeline.passages import team_flow_rebuild, team_pending_drain

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STAGES = ["inquiry", "engaged", "qualified", "proposal", "negotiation"]


def _flow(team):
    return Counter(
        {(r.stage_id, r.week, r.kind, r.days): r.count for r in StageFlow.objects.filter(team=team)}
    )


@pytest.mark.parametrize("copy_min_rows", [bulk.COPY_MIN_ROWS, 1], ids=["insert", "copy"])
def test_batches_during_drains_end_in_the_rebuilt_counts(
    transactional_db, team, monkeypatch, copy_min_rows
):
    """With copy_min_rows 1, every batch's new deals go in by COPY, and a batch whose new deal
    another batch created meanwhile falls back to the INSERT."""
    assert connection.vendor == "postgresql"
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", copy_min_rows)
    rng = random.Random(5)
    # Every batch touches many deals, in and out of time order; the range of deal ids grows
    # batch by batch, so the writers keep creating the same new deals at the same time.
    writers = 4
    batches = [
        [
            EventIn(
                event_id=f"w{w}-b{b}-e{i}",
                deal_external_id=f"D{rng.randrange(10 + 8 * b)}",
                occurred_at=T0 + dt.timedelta(hours=rng.randrange(24 * 60)),
                stage=rng.choice(STAGES),
            )
            for i in range(60)
        ]
        for b in range(6)
        for w in range(writers)
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

    threads = [threading.Thread(target=write, args=(batches[w::writers],)) for w in range(writers)]
    drainer = threading.Thread(target=drain)
    drainer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
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


def test_a_batch_whose_new_deal_another_batch_created_meanwhile_starts_again(
    transactional_db, team, monkeypatch
):
    """Locking such a deal behind the locks already held could deadlock with another writer or
    the drain; the batch rolls back and runs again, finding the deal stored."""
    assert connection.vendor == "postgresql"
    original = BatchWriter._new_row
    others: list[threading.Thread] = []

    def other_batch() -> None:
        try:
            stage_events_ingest(
                team=team,
                origin="api",
                schedule_recompute=False,
                events=[
                    EventIn(
                        event_id="other-1", deal_external_id="X", occurred_at=T0, stage="inquiry"
                    )
                ],
            )
        finally:
            connection.close()

    def new_row(self, ext):
        if not others:  # the first time only: another batch creates X and commits, right now
            others.append(threading.Thread(target=other_batch))
            others[0].start()
            others[0].join(timeout=60)
        return original(self, ext)

    monkeypatch.setattr(BatchWriter, "_new_row", new_row)
    result = stage_events_ingest(
        team=team,
        origin="api",
        schedule_recompute=False,
        events=[
            EventIn(
                event_id="mine-1",
                deal_external_id="X",
                occurred_at=T0 + dt.timedelta(days=1),
                stage="engaged",
            )
        ],
    )
    assert (result.accepted, result.deals_created) == (1, 0)
    deal = Deal.objects.get(team=team, external_id="X")
    assert deal.current_stage.slug == "engaged"
    assert deal.opened_at == T0
    assert StageEvent.objects.filter(deal=deal).count() == 2
    assert set(PendingDeal.objects.filter(team=team).values_list("deal_id", flat=True)) == {deal.id}
