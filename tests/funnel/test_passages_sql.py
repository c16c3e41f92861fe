"""The nightly rebuild's statement (funnel.pipeline.passages_sql) gives exactly the passages and
weekly counts of the Python derivation, deal by deal, on random messy logs.

Each log is written straight into the tables, as the log may hold it whatever the ingest lets
in: stages skipped, moves backward, a deal reopened after it was won or lost, several events at
one instant, events at a retired stage after its retirement, at a merged stage (merged along a
chain), at another team's stage or at a stage that is gone, events of the team's deals that
carry another team's id (the Python path reads a log by deal), events around the Monday midnight
of a time zone with summer time, and a stale rule. Both paths run on the same rows in a
savepoint rolled back afterwards; the statement runs from an empty table and from stored
passages with some wrong, missing and extra, since it writes only what differs.
"""

import datetime as dt
import random
import zoneinfo
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test import override_settings

from funnel.metrics.stale import StaleCut
from funnel.models import Deal, DealPassage, Stage, StageEvent, StageFlow
from funnel.pipeline import passages

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the statement is PostgreSQL's; SQLite has one path"
)

ZONES = ["Europe/Berlin", "America/New_York", "Pacific/Auckland", "UTC"]


def rolled_back(write, read):
    """What `read` sees after `write`, with the write undone."""
    with transaction.atomic():
        write()
        seen = read()
        transaction.set_rollback(True)
    return seen


def stored(team) -> tuple[Counter, dict]:
    """The team's passages (without their ids) and its weekly counts."""
    rows = Counter(
        DealPassage.objects.filter(team=team).values_list(
            "team_id", "deal_id", "stage_id", "entered_at", "left_at", "result", "skipped"
        )
    )
    # A dict, not a Counter: Counters compare a cell of 0 equal to no cell, and a cell a delta
    # brought to 0 must be gone.
    flow = {
        (c.stage_id, c.week, c.kind, c.days): c.count for c in StageFlow.objects.filter(team=team)
    }
    return rows, flow


def funnel_reshape(rng: random.Random, team, start: dt.datetime) -> None:
    """Retire one stage some weeks in, and merge one or two stages (sometimes along a chain)."""
    stages = list(Stage.objects.filter(team=team).order_by("position"))
    retired = rng.choice(stages[1:])
    # At a Monday midnight, an instant many deals open at: opened at the retirement is after.
    Stage.objects.filter(id=retired.id).update(
        retired_at=start + dt.timedelta(weeks=rng.randrange(1, 6))
    )
    left = [s for s in stages if s.id != retired.id]
    merged, into = rng.sample(left, 2)
    Stage.objects.filter(id=merged.id).update(merged_into=into, merged_at=start)
    if rng.random() < 0.5:  # a chain: another stage merged into the merged one
        other = rng.choice([s for s in left if s.id not in (merged.id, into.id)])
        Stage.objects.filter(id=other.id).update(merged_into=merged, merged_at=start)


def messy_log(rng: random.Random, team, other_team, start: dt.datetime, deals: int) -> None:
    stage_ids = list(Stage.objects.filter(team=team).values_list("id", flat=True))
    foreign = list(Stage.objects.filter(team=other_team).values_list("id", flat=True))
    gone = max(stage_ids + foreign) + 1000
    ours = Deal.objects.bulk_create(Deal(team=team, external_id=f"D{i}") for i in range(deals))
    theirs = Deal.objects.create(team=other_team, external_id="X")
    events = []

    def event(deal, at, stage_id=None, outcome="", team_id=team.id):
        n = len(events)
        events.append(
            StageEvent(team_id=team_id, deal_id=deal.id, stage_id=stage_id, outcome=outcome,
                       lost_reason="", occurred_at=at, event_id=f"e{n}", origin="api")
        )  # fmt: skip

    for deal in ours:
        if rng.random() < 0.05:
            continue  # a deal with no events
        # A few instants per deal, on or about a Monday midnight of the zone, so that events
        # share instants and fall either side of a week's edge.
        instants = [
            start
            + dt.timedelta(weeks=rng.randrange(12), minutes=rng.choice([-61, -1, 0, 0, 1, 59]))
            + dt.timedelta(days=rng.choice([0, 0, 2, 6]), hours=rng.choice([0, 0, 13]))
            for _ in range(rng.randrange(1, 5))
        ]
        for _ in range(rng.randrange(1, 9)):
            at, what = rng.choice(instants), rng.random()
            if what < 0.6:
                event(deal, at, stage_id=rng.choice(stage_ids))
            elif what < 0.72:
                event(deal, at, outcome="won")
            elif what < 0.84:
                event(deal, at, outcome="lost")
            elif what < 0.9:
                event(deal, at, stage_id=rng.choice([*foreign, gone]))
            elif what < 0.95:  # the team's deal, another team's id on the event
                event(deal, at, outcome=rng.choice(["won", "lost"]), team_id=other_team.id)
            else:
                event(deal, at, stage_id=rng.choice(stage_ids), team_id=other_team.id)
    event(theirs, start, stage_id=stage_ids[0])  # the team's id on another team's deal
    event(theirs, start + dt.timedelta(days=1), outcome="won")
    StageEvent.objects.bulk_create(events)


def passages_perturb(rng: random.Random, team) -> None:
    """Leave the stored passages partly wrong: some deleted, some with one field changed, one
    too many."""
    rows = list(DealPassage.objects.filter(team=team).order_by("id"))
    second = dt.timedelta(seconds=1)
    for i, row in enumerate(rng.sample(rows, len(rows) // 4)):
        wrong = DealPassage.objects.filter(id=row.id)
        match i % 5:
            case 0:
                wrong.delete()
            case 1:
                wrong.update(entered_at=row.entered_at - second)
            case 2:
                wrong.update(left_at=None if row.left_at else row.entered_at)
            case 3:
                wrong.update(result="open" if row.result != "open" else "lost")
            case 4:
                wrong.update(skipped=not row.skipped)
    passed = set(DealPassage.objects.filter(team=team).values_list("deal_id", "stage_id"))
    stage_ids = Stage.objects.filter(team=team).values_list("id", flat=True)
    deal = Deal.objects.filter(team=team).order_by("id").first()
    extra = next(s for s in stage_ids if (deal.id, s) not in passed)
    DealPassage.objects.create(
        team=team, deal=deal, stage_id=extra, entered_at=rows[0].entered_at, result="open"
    )


@pytest.mark.parametrize("seed", range(8))
def test_the_statement_gives_the_python_passages_and_counts(team, other_team, seed):
    rng = random.Random(seed)
    zone = ZONES[seed % len(ZONES)]
    with override_settings(TIME_ZONE=zone):
        # A Monday midnight in the zone, some weeks before a change to or from summer time.
        start = dt.datetime(2026, 2, 2 + 7 * rng.randrange(3), tzinfo=zoneinfo.ZoneInfo(zone))
        funnel_reshape(rng, team, start)
        messy_log(rng, team, other_team, start, deals=120)
        stale = None
        if seed % 4:
            as_of = start + dt.timedelta(weeks=rng.randrange(4, 14), hours=rng.randrange(24))
            stale = StaleCut(days=rng.choice([3, 10, 30]), as_of=as_of)

        def python():
            passages._team_flow_rebuild_python(team, stale, chunk=37)

        def sql():
            passages._team_flow_rebuild_set_based(team, stale)

        expected = rolled_back(python, lambda: stored(team))
        rows, flow = expected
        results = Counter(r[5] for r in rows)
        assert results["advanced"] > 50 and results["lost"] > 10 and results["open"] > 0
        assert sum(1 for r in rows if r[6]) > 20  # skipped stages
        assert rolled_back(sql, lambda: stored(team)) == expected  # from an empty table

        def sql_over_wrong_rows():
            python()
            passages_perturb(rng, team)
            StageFlow.objects.filter(team=team).delete()
            sql()

        assert rolled_back(sql_over_wrong_rows, lambda: stored(team)) == expected


def more_events(rng: random.Random, team, deals, start: dt.datetime) -> None:
    """A batch's worth of late events on some deals: moves, outcomes, reopenings, some before
    what the log already holds."""
    stage_ids = list(Stage.objects.filter(team=team).values_list("id", flat=True))
    events = []
    for deal in deals:
        for _ in range(rng.randrange(0, 3)):
            at = start + dt.timedelta(weeks=rng.randrange(14), hours=rng.randrange(48))
            stage_id, outcome = rng.choice(stage_ids), ""
            if rng.random() < 0.3:
                stage_id, outcome = None, rng.choice(["won", "lost"])
            events.append(
                StageEvent(team_id=team.id, deal_id=deal.id, stage_id=stage_id, outcome=outcome,
                           lost_reason="", occurred_at=at, event_id=f"late{deal.id}-{len(events)}",
                           origin="api")
            )  # fmt: skip
    StageEvent.objects.bulk_create(events)


@pytest.mark.parametrize("seed", range(6))
def test_the_drains_statement_applies_the_python_delta(team, other_team, seed):
    """The drain's statement (deals_passages_sync_sql) leaves the passages and weekly counts
    the Python drain leaves, and reports the same changed cells, for a batch of deals over
    stored passages that are partly wrong, after late events."""
    rng = random.Random(100 + seed)
    zone = ZONES[seed % len(ZONES)]
    with override_settings(TIME_ZONE=zone):
        start = dt.datetime(2026, 3, 2 + 7 * rng.randrange(3), tzinfo=zoneinfo.ZoneInfo(zone))
        funnel_reshape(rng, team, start)
        messy_log(rng, team, other_team, start, deals=90)
        stale = None
        if seed % 3:
            as_of = start + dt.timedelta(weeks=rng.randrange(4, 14), hours=rng.randrange(24))
            stale = StaleCut(days=rng.choice([3, 10, 30]), as_of=as_of)
        passages._team_flow_rebuild_python(team, stale, chunk=50)
        passages_perturb(rng, team)
        deals = list(Deal.objects.filter(team=team).order_by("id"))
        batch = rng.sample(deals, 60)
        more_events(rng, team, batch, start)
        ids = sorted(d.id for d in batch)
        maps = passages._stage_maps(team)
        cells = {}

        def python():
            logs = dict(passages._deal_event_logs(ids))
            delta = passages.deals_passages_refresh(team=team, deal_events=logs, stale=stale)
            cells["python"] = {(key[0], key[1]) for key, n in delta.items() if n}

        def sql():
            cells["sql"] = passages.deals_passages_sync_sql(
                team_id=team.id, deal_ids=ids, maps=maps, stale=stale
            )[0]

        expected = rolled_back(python, lambda: stored(team))
        assert rolled_back(sql, lambda: stored(team)) == expected
        assert cells["sql"] == cells["python"] and len(cells["python"]) > 10
        before = stored(team)
        assert before != expected  # the batch changed something
        # Some cells went to 0 and were dropped, by both.
        assert set(before[1]) - set(expected[1])
