"""Large batches put their new deals in by COPY, and every event through a staging table
(funnel.staging) whose INSERT skips stored ids and marks the deals pending (real PostgreSQL).

A COPY cannot skip what is stored: when a new deal turns out to be stored (by a concurrent
batch), the batch rolls back and is written again by the set-based INSERT. An event id stored
for another deal is skipped like any stored id. These tests check that the result is the same
either way, and nothing is counted twice.
"""

import datetime as dt
import json
import random
import threading

import pytest
from django.db import connection

from funnel import bulk
from funnel.ingest import EventIn, stage_events_ingest, stored
from funnel.models import Deal, Origin, PendingDeal, StageEvent
from tests.funnel.test_ingest_service import _positions, _reference_positions

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STAGES = ["inquiry", "engaged", "qualified", "proposal"]


def _batch(deals: int, *, seed: int = 1, prefix: str = "D") -> list[EventIn]:
    """One to three events a deal at distinct instants, some closing the deal."""
    rng = random.Random(seed)
    events = []
    for d in range(deals):
        for k in range(rng.randint(1, 3)):
            at = T0 + dt.timedelta(days=rng.randrange(200), minutes=k)
            if k == 2 and rng.random() < 0.5:
                lost = rng.random() < 0.5
                outcome, reason = ("lost", "price") if lost else ("won", "")
                events.append(
                    EventIn(
                        f"{prefix}{d}-e{k}", f"{prefix}{d}", at, outcome=outcome, lost_reason=reason
                    )
                )
            else:
                events.append(EventIn(f"{prefix}{d}-e{k}", f"{prefix}{d}", at, rng.choice(STAGES)))
    rng.shuffle(events)
    return events


def _ingest(team, events):
    return stage_events_ingest(
        team=team, events=events, origin=Origin.API, schedule_recompute=False
    )


def _copies(monkeypatch) -> list[str]:
    """The tables each COPY wrote, in order (the real COPY still runs)."""
    tables: list[str] = []
    original = bulk.rows_copy

    def counted(model, fields, rows):
        tables.append(model._meta.db_table)
        return original(model, fields, rows)

    monkeypatch.setattr("funnel.ingest.writes.rows_copy", counted)
    return tables


def test_a_batch_of_new_deals_goes_in_by_copy_as_the_definition_says(team, monkeypatch):
    assert connection.vendor == "postgresql"
    copies = _copies(monkeypatch)
    events = _batch(400)
    result = _ingest(team, events)
    assert copies == ["funnel_deal"]  # the events and pending marks: staged
    assert (result.accepted, result.duplicates, result.deals_created) == (len(events), 0, 400)
    assert _positions(team) == _reference_positions(events)
    assert StageEvent.objects.filter(team=team).count() == len(events)
    deal_ids = set(Deal.objects.filter(team=team).values_list("id", flat=True))
    assert set(PendingDeal.objects.filter(team=team).values_list("deal_id", flat=True)) == deal_ids
    assert result.created_deals == dict(
        Deal.objects.filter(team=team).values_list("external_id", "id")
    )


def test_copy_and_insert_write_the_same(team, other_team, monkeypatch):
    events = _batch(300, seed=7)
    _ingest(team, events)
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10**9)  # the set-based INSERT only
    _ingest(other_team, events)

    def written(t):
        return sorted(
            StageEvent.objects.filter(team=t).values_list(
                "event_id",
                "deal__external_id",
                "stage__slug",
                "outcome",
                "lost_reason",
                "occurred_at",
            )
        )

    assert written(team) == written(other_team)
    assert _positions(team) == _positions(other_team)


def test_an_event_id_stored_for_another_deal_is_skipped(team, monkeypatch):
    """The staged INSERT skips the stored id; the deal it came with is created without it."""
    _ingest(team, [EventIn("D7-e0", "elsewhere", T0, "inquiry")])
    copies = _copies(monkeypatch)
    events = _batch(300, seed=3)
    assert any(e.event_id == "D7-e0" for e in events)
    result = _ingest(team, events)
    assert copies == ["funnel_deal"]  # once: nothing to fall back from
    assert (result.accepted, result.duplicates) == (len(events) - 1, 1)
    assert result.deals_created == 300
    assert StageEvent.objects.filter(team=team).count() == len(events)
    stored = StageEvent.objects.get(team=team, event_id="D7-e0")
    assert stored.deal.external_id == "elsewhere"
    assert Deal.objects.filter(team=team).count() == 301
    kept = [e for e in events if e.event_id != "D7-e0"]
    expected = _reference_positions(kept)
    if not any(e.deal_external_id == "D7" for e in kept):  # created, but with no event of its own
        expected = sorted([*expected, ("D7", "open", "", None, None, None, None, None)])
    assert [p for p in _positions(team) if p[0] != "elsewhere"] == expected


def test_a_new_deal_stored_before_the_batch_is_read_not_copied(team, monkeypatch):
    _ingest(team, [EventIn("old-1", "D5", T0 - dt.timedelta(days=1), "inquiry")])
    events = _batch(300, seed=4)
    result = _ingest(team, events)
    assert result.deals_created == 299
    assert result.accepted == len(events)
    assert "D5" not in result.created_deals
    log = [EventIn("old-1", "D5", T0 - dt.timedelta(days=1), "inquiry"), *events]
    assert _positions(team) == _reference_positions(log)


def test_a_concurrent_replay_of_a_copied_batch_counts_each_event_once(transactional_db, team):
    events = _batch(300, seed=9)
    barrier = threading.Barrier(2)
    results: list = [None, None]
    errors: list[BaseException] = []

    def replay(slot: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[slot] = _ingest(team, events)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=replay, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.accepted for r in results) == len(events)
    assert sum(r.duplicates for r in results) == len(events)
    assert sum(r.deals_created for r in results) == 300
    assert StageEvent.objects.filter(team=team).count() == len(events)
    assert _positions(team) == _reference_positions(events)


@pytest.mark.parametrize("copy_min_rows", [bulk.COPY_MIN_ROWS, 10**9], ids=["copy", "insert"])
def test_an_event_id_sent_for_two_deals_is_the_first_deals_only(team, monkeypatch, copy_min_rows):
    """The second deal's position leaves out the event it did not get."""
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", copy_min_rows)
    events = _batch(250, seed=11)
    first = next(e for e in events if e.deal_external_id == "D3")
    later = T0 + dt.timedelta(days=250)  # would be D4's latest event, were it D4's
    events.append(EventIn(first.event_id, "D4", later, outcome="won"))
    result = _ingest(team, events)
    assert (result.accepted, result.duplicates) == (len(events) - 1, 1)
    assert StageEvent.objects.get(team=team, event_id=first.event_id).deal.external_id == "D3"
    assert _positions(team) == _reference_positions(events[:-1])


def test_a_new_teams_deals_are_looked_up_by_the_unique_index(team, other_team):
    """With statistics that count a new team's deals as none (autovacuum has not run since they
    came), each external id must still be one probe of the (team, external id) index. The
    planner once found (team, status) as cheap and read all of the team's deals per id: a
    78,000-row first import took 214 s instead of 6."""
    now = T0.isoformat()
    with connection.cursor() as cursor:
        for t, count in ((team, 100_000), (other_team, 2000)):
            cursor.execute(
                "INSERT INTO funnel_deal (team_id, external_id, account, department, source,"
                " status, lost_reason, created_at, updated_at)"
                " SELECT %s, 'X' || g, '', '', '', 'open', '', %s, %s"
                " FROM generate_series(1, %s) g",
                [t.id, now, now, count],
            )
            if t is team:
                cursor.execute("ANALYZE funnel_deal")  # other_team's deals come after it
        cursor.execute(
            "EXPLAIN " + stored.deals_lock_sql(),
            [json.dumps([f"X{i}" for i in range(1, 1001)]), other_team.id],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "deal_external_id_unique_per_team" in plan, plan
    assert "Filter: ((external_id)" not in plan, plan
    ids = [f"X{i}" for i in range(1, 1001)]
    assert len(stored._deals_lock_by_external_id(other_team.id, ids)) == 1000
