"""PostgreSQL judges each touch in one windowed pass over its deal's touches and events
(funnel.pipeline.tactics._judged_by_windows); SQLite, with three probes per touch. Both
run here on PostgreSQL on the same rows, with touches and events at the same instants (events
at one instant sort before a touch there, stages by position), merged stages, events at another
team's stage, wins and losses, and touches without a deal, and must agree touch by touch, and
with the Python reading of the rules in test_tactic_aggregates."""

import datetime as dt
import random
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from funnel.models import Deal, Origin, Outcome, Stage, StageEvent, Tactic, Touch
from funnel.pipeline import tactics
from funnel.touches.services import response_rule_set, tactic_create
from tests.funnel.touches.test_tactic_aggregates import _judged

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="compares PostgreSQL's windowed pass with SQLite's"
)

T0 = dt.datetime(2025, 3, 3, 8, 30, tzinfo=dt.UTC)


def judged_rows(team, text: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {text} SELECT id, week, station, status, answered, advanced FROM judged "
            "ORDER BY id",
            {"team": team.id, "tz": settings.TIME_ZONE},
        )
        return cursor.fetchall()


def tied_history(team, other_team, rng: random.Random, deals: int, touches: int, foreign: bool):
    stages = list(Stage.objects.filter(team=team).order_by("position"))
    foreign = foreign and Stage.objects.filter(team=other_team).first()
    all_tactics = list(Tactic.objects.filter(team=team))
    instants = [T0 + dt.timedelta(days=d, hours=h) for d in range(0, 40, 3) for h in (0, 5)]
    made, events = [], []
    for d in range(deals):
        deal = Deal.objects.create(team=team, external_id=f"D-{d}")
        made.append(deal)
        for i in range(rng.randint(1, 7)):
            what = rng.random()
            stage, outcome = None, ""
            if what < 0.7:
                stage = rng.choice(stages)
            elif what < 0.8:
                stage = foreign if foreign else rng.choice(stages)
            else:
                outcome = rng.choice([Outcome.WON, Outcome.LOST])
            events.append(
                StageEvent(team=team, deal=deal, stage=stage, outcome=outcome,
                           occurred_at=rng.choice(instants), event_id=f"D-{d}-{i}",
                           origin=Origin.API)
            )  # fmt: skip
    StageEvent.objects.bulk_create(events)
    Touch.objects.bulk_create(
        Touch(
            team=team, touch_id=f"t-{i}", tactic=rng.choice(all_tactics), channel="phone",
            deal=rng.choice(made) if rng.random() < 0.8 else None,
            prospect=f"P-{rng.randint(0, 9)}", occurred_at=rng.choice(instants),
            responded=rng.choice([None, None, None, True, False]), origin=Origin.API,
        )
        for i in range(touches)
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_windowed_pass_judges_every_touch_as_the_look_ups(team, other_team, manager, seed):
    rng = random.Random(seed)
    tactic_create(team=team, slug="webinar", name="Webinar", channel="event")  # no window
    response_rule_set(tactic=Tactic.objects.get(team=team, slug="email"), window_days=3, by=manager)
    Stage.objects.filter(team=team, slug="negotiation").update(
        merged_into=Stage.objects.get(team=team, slug="proposal")
    )
    # Events at another team's stage in half the runs: the Python reading has no place for them.
    foreign = seed > 2
    tied_history(team, other_team, rng, deals=40, touches=500, foreign=foreign)
    windowed = judged_rows(team, tactics._judged_by_windows())
    looked_up = judged_rows(team, tactics._judged_by_probes())
    assert windowed == looked_up
    assert sum(r[4] for r in windowed) > 50 and sum(r[5] for r in windowed) > 50
    if foreign:
        return
    # And with the Python reading of the rules (station, answered, advanced per touch).
    judged = {r[0]: r for r in windowed}
    touches = Touch.objects.filter(team=team).values_list(
        "id", "tactic_id", "deal_id", "prospect", "deal__status"
    )
    assert Counter(
        (tactic, deal, prospect, judged[i][1], judged[i][2], bool(judged[i][4]),
         bool(judged[i][5]), status == "won")
        for i, tactic, deal, prospect, status in touches
    ) == Counter(_judged(team))  # fmt: skip
