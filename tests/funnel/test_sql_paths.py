"""One dialect per hot path: PostgreSQL runs the tuned set-based statement, SQLite the plain ORM.

On PostgreSQL both run here on the same rows and must agree exactly; SQLite runs the ORM twin
in every other test of these paths. Each pair runs in a savepoint rolled back afterwards, so
both start from the same tables.
"""

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel import bulk
from funnel.ingest import EventIn, stage_events_ingest
from funnel.ingest.writes import EVENT_FIELDS
from funnel.metrics.stale import StaleCut
from funnel.models import Characteristic, Deal, DealStatus, FlowKind, StageEvent, StageFlow
from funnel.pipeline import as_of, flow_from_passages, open_deals, stage_flow
from funnel.pipeline.passages import team_pending_drain
from funnel.pipeline.stale import open_deals_figures
from funnel.winnable import services as winnable
from tests.funnel.winnable.conftest import deal_closed

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="compares the PostgreSQL statements with the ORM"
)
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def drained(team):
    events = funnel_events(
        funnel_generate(FunnelShape(weeks=20, arrivals_per_week=15, seed=11), now=NOW)
    )
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    team_pending_drain(team=team)
    return team


def flow(team) -> Counter:
    return Counter(
        {(c.stage_id, c.week, c.kind, c.days): c.count for c in StageFlow.objects.filter(team=team)}
    )


def rolled_back(write, read):
    """What `read` sees after `write`, with the write undone."""
    with transaction.atomic():
        write()
        seen = read()
        transaction.set_rollback(True)
    return seen


def test_flow_from_passages(drained):
    incremental = flow(drained)
    assert sum(incremental.values()) > 500
    for rebuild in (
        flow_from_passages._team_flow_from_passages_set_based,
        flow_from_passages._team_flow_from_passages_orm,
    ):
        assert rolled_back(lambda r=rebuild: r(drained), lambda: flow(drained)) == incremental


def test_stage_flow_delta(drained):
    stored = flow(drained)
    cells = sorted(stored)
    stage_id, week = cells[0][0], cells[0][1]
    delta = Counter({cells[0]: 3, cells[1]: -stored[cells[1]], cells[2]: -1})  # one empties
    delta[stage_id, week - dt.timedelta(weeks=60), FlowKind.ENTERED, -1] = 2  # a new cell
    changes = sorted((key, n) for key, n in delta.items() if n)
    results = [
        rolled_back(lambda a=apply: a(drained.id, changes), lambda: flow(drained))
        for apply in (stage_flow._stage_flow_upsert, stage_flow._stage_flow_apply_orm)
    ]
    assert results[0] == results[1] == stored + delta  # + keeps the positive counts only
    assert cells[1] not in results[0]  # a cell brought to 0 is deleted


def test_open_ages_and_days_in_stage(drained):
    assert sum(dict(open_deals._open_age_counts_orm(drained, NOW)).values()) > 20
    # The open deals read by PostgreSQL's path (all of them, none kept) and counted by the ORM,
    # with and without a stale cut (tests/funnel/pipeline/test_open_deals_kept.py: kept ones).
    for days in (None, 10):
        cut = StaleCut(days=days, as_of=NOW) if days else None
        ages, figures, _ = open_deals.open_deals_read(drained, NOW, cut)
        separate = open_deals._open_ages(drained, NOW, cut.cutoff if cut else None)
        assert {s: sorted(a) for s, a in ages.items()} == {
            s: sorted(a) for s, a in separate.items()
        }
        assert figures == open_deals_figures(team=drained, cut=cut)
    since = NOW.date() - dt.timedelta(weeks=12)
    kinds = [FlowKind.ADVANCED, FlowKind.LOST]

    def cells(hist):
        return {(s, w): sorted(h) for s, weeks in hist.items() for w, h in weeks.items()}

    for before in (None, NOW.date() - dt.timedelta(weeks=4)):
        arrays = cells(as_of._left_days_arrays(drained, since, before, kinds))
        assert arrays == cells(as_of._left_days_rows(drained, since, before, kinds)) and arrays


def test_latest_observation_counts(team):
    rng = random.Random(5)
    chars = list(Characteristic.objects.filter(team=team, kind="choice")[:2])
    closed = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(80):
        at = closed + dt.timedelta(days=rng.randrange(120), hours=rng.randrange(24))
        observations = [
            (c, rng.choice(c.choices), at + dt.timedelta(days=rng.choice([-5, -1, 0, 0, 3])))
            for c in chars
            for _ in range(rng.randrange(4))
        ]
        amount = rng.choice([None, "1000", "2500.50"])
        deal_closed(team, f"W-{i}", won=rng.random() < 0.4, closed_at=at, amount=amount,
                    observations=observations)  # fmt: skip
    sql = sorted(winnable._latest_value_counts_sql(team))
    orm = sorted(winnable._latest_value_counts_orm(team))
    assert sql == orm and sum(row[3] for row in orm) > 40
    assert sum(row[5] for row in orm) > Decimal(1000)


def test_rows_insert_skips_stored_keys_and_returns_what_it_inserted(team):
    deal = Deal.objects.create(team=team, external_id="A")
    at = dt.datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)
    stage = team.stages.order_by("position").first()

    def row(event_id):
        return (team.id, deal.id, stage.id, "", "", at, NOW, event_id, "api", None, None)

    stage_events_ingest(team=team, origin="api", events=[EventIn("e1", "A", at, stage.slug)])
    rows = [row(event_id) for event_id in ("e1", "e2", "e3", "e2")]  # e1 stored, e2 twice

    def inserted(insert):
        def write():
            found = insert(
                StageEvent,
                EVENT_FIELDS,
                rows,
                conflict=("team_id", "event_id"),
                returning=("deal_id", "event_id"),
            )
            assert found == [(deal.id, "e2"), (deal.id, "e3")]

        return rolled_back(
            write,
            lambda: sorted(
                StageEvent.objects.filter(team=team).values_list(
                    "deal_id", "stage_id", "occurred_at", "event_id", "origin"
                )
            ),
        )

    set_based = inserted(lambda *a, **k: bulk._rows_insert_set_based(*a, then=None, **k))
    assert set_based == inserted(bulk._rows_insert_orm)
    assert [e[3] for e in set_based] == ["e1", "e2", "e3"]


def test_rows_update(team):
    deals = [Deal.objects.create(team=team, external_id=f"U{i}") for i in range(3)]
    at = dt.datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)
    rows = [(DealStatus.LOST, Decimal("12.50"), at, d.id) for d in deals[:2]]
    fields = ("status", "amount", "stage_entered_at")

    def table():
        return sorted(Deal.objects.filter(team=team).values_list("external_id", *fields))

    results = [
        rolled_back(lambda u=update: u(Deal, fields, rows, "id"), table)
        for update in (bulk._rows_update_set_based, bulk._rows_update_orm)
    ]
    assert results[0] == results[1]
    assert results[0][0][1:] == ("lost", Decimal("12.50"), at) and results[0][2][1] == "open"
