"""The open deals a worker keeps between runs stay those of a scan, whatever writes the deals.

Statement triggers mark every deal a write inserts, updates or deletes; a run with kept open
deals re-reads only the marked ones (funnel.pipeline.open_deals). Here every kind of write the
product and its operators make goes through between two reads: the API's ingest (new deals,
moves, wins, losses), an update by the ORM, raw SQL, deletes, new deals by the ORM and in bulk,
and writes to another team. After each, the kept deals' ages and counts are compared with the
grouped scan and the ORM count that SQLite uses (`_open_ages`, `open_deals_figures`), which
know nothing of the marks.
"""

import datetime as dt
import random

import pgtrigger
import pytest
from django.db import connection

from funnel.ingest import EventIn, stage_events_ingest
from funnel.metrics.stale import StaleCut
from funnel.models import Deal, DealChanged, DealStatus, Stage, StageEvent, Team
from funnel.pipeline import open_deals
from funnel.pipeline.passages import team_pending_drain
from funnel.pipeline.stale import open_deals_figures
from funnel.services import team_delete

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the marks are PostgreSQL triggers"
    ),
]
NOW = dt.datetime(2026, 6, 3, 15, 30, 12, 345678, tzinfo=dt.UTC)


def scanned(team, cut):
    """The reference: the open deals' ages by one grouped scan in SQL, checked against the
    ORM's count (SQLite's path), and their figures counted by the ORM."""
    before = cut.cutoff if cut else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_stage_id, floor(date_part('epoch', %s - stage_entered_at) / 86400), "
            "COUNT(*) FROM funnel_deal WHERE team_id = %s AND status = 'open' "
            "AND current_stage_id IS NOT NULL AND (%s::timestamptz IS NULL OR last_event_at >= %s) "
            "GROUP BY 1, 2",
            [NOW, team.id, before, before],
        )
        grouped = {}
        for stage_id, days, count in cursor.fetchall():
            grouped.setdefault(stage_id, []).extend([max(0.0, float(days or 0))] * count)
    ages = {s: sorted(a) for s, a in grouped.items()}
    orm = open_deals._open_ages(team, NOW, before)
    assert ages == {s: sorted(a) for s, a in orm.items()}
    return ages, open_deals_figures(team=team, cut=cut)


def kept_read(team, cut, kept):
    ages, figures, deals = open_deals.open_deals_read(team, NOW, cut, kept=kept)
    return {s: sorted(a) for s, a in ages.items()}, figures, deals


def events(rng, team, n, made):
    slugs = list(
        Stage.objects.filter(team=team).order_by("position").values_list("slug", flat=True)
    )
    open_ids = list(
        Deal.objects.filter(team=team, status=DealStatus.OPEN).values_list("external_id", "id")
    )
    batch = []
    for _ in range(n):
        made += 1
        # Whole seconds apart from the instant: days cut at a deal's exact second of entry.
        at = NOW - dt.timedelta(days=rng.randrange(0, 90), hours=rng.randrange(24))
        if rng.random() < 0.4 or not open_ids:
            batch.append(
                EventIn(
                    event_id=f"e{made}",
                    deal_external_id=f"n{made}",
                    occurred_at=at,
                    stage=rng.choice(slugs),
                )
            )
            continue
        deal, _ = rng.choice(open_ids)
        roll = rng.random()
        move = (
            {"outcome": "won"}
            if roll < 0.1
            else {"outcome": "lost", "lost_reason": "No budget"}
            if roll < 0.2
            else {"stage": rng.choice(slugs)}
        )
        batch.append(EventIn(event_id=f"e{made}", deal_external_id=deal, occurred_at=at, **move))
    return batch, made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_open_deals_equal_a_scan_after_every_kind_of_write(team, seed):
    rng = random.Random(seed)
    other = Team.objects.create(name="Other", slug=f"other-{seed}")
    stage_ids = list(Stage.objects.filter(team=team).values_list("id", flat=True))
    made = 0
    batch, made = events(rng, team, 300, made)
    stage_events_ingest(team=team, events=batch, origin="api", schedule_recompute=False)
    team_pending_drain(team=team)
    cuts = [None, StaleCut(days=20, as_of=NOW)]
    _, _, kept = kept_read(team, None, None)
    assert kept.ids.size > 50

    def ingest():
        nonlocal made
        batch, made = events(rng, team, 120, made)
        stage_events_ingest(team=team, events=batch, origin="api", schedule_recompute=False)
        team_pending_drain(team=team)

    def some(k):
        ids = list(Deal.objects.filter(team=team).order_by("id").values_list("id", flat=True))
        return rng.sample(ids, k)

    def orm_update():
        Deal.objects.filter(id__in=some(15)).update(status=DealStatus.WON)
        Deal.objects.filter(id__in=some(10)).update(status=DealStatus.OPEN)

    def raw_update():
        with connection.cursor() as cursor:
            for deal_id in some(12):
                cursor.execute(
                    "UPDATE funnel_deal SET current_stage_id = %s, stage_entered_at = %s, "
                    "last_event_at = %s WHERE id = %s",
                    [
                        rng.choice([*stage_ids, None]),
                        rng.choice([None, NOW - dt.timedelta(days=rng.uniform(-2, 60))]),
                        rng.choice([None, NOW - dt.timedelta(days=rng.uniform(0, 60))]),
                        deal_id,
                    ],
                )

    def delete():
        gone = some(8)
        with pgtrigger.ignore("funnel.StageEvent:stage_event_no_delete"):
            StageEvent.objects.filter(deal_id__in=gone).delete()
            Deal.objects.filter(id__in=gone).delete()

    def created():
        Deal.objects.create(team=team, external_id=f"manual-{made}-{rng.random()}")
        Deal.objects.bulk_create(
            Deal(
                team=team,
                external_id=f"bulk-{made}-{i}-{rng.random()}",
                current_stage_id=rng.choice(stage_ids),
                stage_entered_at=NOW - dt.timedelta(days=rng.uniform(0, 30)),
                last_event_at=NOW - dt.timedelta(days=rng.uniform(0, 30)),
            )
            for i in range(5)
        )

    def other_team():
        Deal.objects.create(team=other, external_id=f"o-{made}-{rng.random()}")
        Deal.objects.filter(team=other).update(status=DealStatus.LOST)

    writes = [ingest, orm_update, raw_update, delete, created, other_team]
    for step in range(18):
        rng.choice(writes)()
        cut = cuts[step % 2]
        ages, figures, kept = kept_read(team, cut, kept)
        assert (ages, figures) == scanned(team, cut), f"step {step}"
        assert not DealChanged.objects.filter(team_id=team.id).exists()
    assert sum(len(a) for a in ages.values()) > 50


def test_marks_left_by_a_write_are_what_the_next_read_takes(team):
    """The marks are the only way a kept read learns of a write: with the update trigger
    ignored, the kept deals miss an update the scan sees (so the test above can fail)."""
    deal = Deal.objects.create(team=team, external_id="a", current_stage=team.stages.first())
    _, _, kept = kept_read(team, None, None)
    assert DealChanged.objects.filter(team_id=team.id).count() == 0
    with pgtrigger.ignore("funnel.Deal:deal_changed_update"):
        Deal.objects.filter(id=deal.id).update(status=DealStatus.LOST)
    ages, _, _ = kept_read(team, None, kept)
    assert ages != scanned(team, None)[0]
    Deal.objects.filter(id=deal.id).update(status=DealStatus.WON)
    marks = DealChanged.objects.filter(team_id=team.id).values_list("deal_ids", flat=True)
    assert list(marks) == [[deal.id]]
    ages, _, _ = kept_read(team, None, kept)
    assert ages == scanned(team, None)[0] == {}


def test_deleting_a_team_leaves_none_of_its_marks(team):
    Deal.objects.create(team=team, external_id="a")
    assert DealChanged.objects.filter(team_id=team.id).exists()
    team_id = team.id
    team_delete(team=team)
    assert not DealChanged.objects.filter(team_id=team_id).exists()
