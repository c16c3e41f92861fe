"""Deal passages and weekly stage-flow counts stay exact however events arrive."""

import datetime as dt
from collections import Counter

import pgtrigger
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Deal, DealPassage, PendingDeal, StageFlow
from funnel.pipeline.flow_from_passages import team_flow_from_passages
from funnel.pipeline.passages import team_flow_rebuild, team_pending_drain

pytestmark = pytest.mark.django_db

# A Monday, so week arithmetic in the expectations is easy to follow.
MON = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WEEK1, WEEK2 = dt.date(2026, 3, 2), dt.date(2026, 3, 9)


def ev(event_id, deal, days, stage=None, outcome=None):
    return EventIn(
        event_id=event_id,
        deal_external_id=deal,
        occurred_at=MON + dt.timedelta(days=days),
        stage=stage,
        outcome=outcome,
    )


def ingest(team, events):
    """Ingest a batch, then drain its pending deals as the team's recompute does."""
    stage_events_ingest(team=team, origin="api", events=events)
    team_pending_drain(team=team)


def flow(team):
    return Counter(
        {
            (row.stage.slug, row.week, row.kind, row.days): row.count
            for row in StageFlow.objects.filter(team=team).select_related("stage")
        }
    )


def deals_clear(team):
    """Between examples: the team's deals and their logs go, as with the team's deletion (the
    one deletion the event log's append-only guard lets through)."""
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_delete"):
        Deal.objects.filter(team=team).delete()


def test_hand_worked_example(team):
    # Deal A: inquiry Mon wk1, qualified Thu wk1 (skips engaged), won Tue wk2.
    # Deal B: inquiry Mon wk1, lost Wed wk1.
    ingest(
        team,
        [
            ev("a1", "A", 0, stage="inquiry"),
            ev("a2", "A", 3, stage="qualified"),
            ev("a3", "A", 8, outcome="won"),
            ev("b1", "B", 0, stage="inquiry"),
            ev("b2", "B", 2, outcome="lost"),
        ],
    )
    expected = Counter(
        {
            ("inquiry", WEEK1, "entered", -1): 2,
            ("inquiry", WEEK1, "advanced", 3): 1,  # A left inquiry after 3 days
            ("inquiry", WEEK1, "lost", 2): 1,  # B lost after 2 days
            ("engaged", WEEK1, "entered", -1): 1,  # A passed engaged by reaching qualified
            ("engaged", WEEK1, "advanced", -1): 1,  # skipped: no days in stage
            ("qualified", WEEK1, "entered", -1): 1,
            # A was won on day 8: it passed qualified and every later stage
            ("qualified", WEEK2, "advanced", 5): 1,
            ("proposal", WEEK2, "entered", -1): 1,
            ("proposal", WEEK2, "advanced", -1): 1,
            ("negotiation", WEEK2, "entered", -1): 1,
            ("negotiation", WEEK2, "advanced", -1): 1,
            ("handover", WEEK2, "entered", -1): 1,
            ("handover", WEEK2, "advanced", -1): 1,
        }
    )
    assert flow(team) == expected
    assert DealPassage.objects.filter(deal__external_id="A").count() == 6


def test_a_late_event_repairs_the_counts_it_changes(team):
    ingest(team, [ev("a2", "A", 3, stage="engaged")])
    before = flow(team)
    assert before[("inquiry", WEEK1, "entered", -1)] == 1  # skipped inquiry, entered on day 3
    assert before[("inquiry", WEEK1, "advanced", -1)] == 1
    # The inquiry event arrives late: inquiry now has a real stay of 3 days.
    ingest(team, [ev("a1", "A", 0, stage="inquiry")])
    after = flow(team)
    assert after[("inquiry", WEEK1, "advanced", 3)] == 1
    assert after[("inquiry", WEEK1, "advanced", -1)] == 0
    assert sum(after.values()) == sum(before.values())


STAGES = ["inquiry", "engaged", "qualified", "proposal", "negotiation", "handover"]
specs = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 60), st.sampled_from([*STAGES, "won", "lost"])),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=specs, data=st.data())
def test_incremental_counts_equal_a_rebuild_from_the_log(team, specs, data):
    deals_clear(team)
    StageFlow.objects.filter(team=team).delete()
    events = [
        ev(f"e{i}", f"D{deal}", day, **({"outcome": s} if s in ("won", "lost") else {"stage": s}))
        for i, (deal, day, s) in enumerate(specs)
    ]
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=4)))
    for start, stop in zip([0, *cuts], [*cuts, len(order)], strict=True):
        if order[start:stop]:
            stage_events_ingest(team=team, origin="api", events=order[start:stop])
            if data.draw(st.booleans()):  # the recompute may run between any two batches
                team_pending_drain(team=team)
    team_pending_drain(team=team)
    assert not PendingDeal.objects.filter(team=team).exists()
    incremental = flow(team)
    team_flow_rebuild(team=team)
    assert flow(team) == incremental
    team_flow_from_passages(team=team)
    assert flow(team) == incremental


def test_ingest_marks_the_deals_and_the_drain_takes_them_in_once(team, other_team):
    stage_events_ingest(
        team=team,
        origin="api",
        events=[ev("a1", "A", 0, stage="inquiry"), ev("b1", "B", 0, stage="inquiry")],
    )
    stage_events_ingest(team=other_team, origin="api", events=[ev("c1", "C", 0, stage="inquiry")])
    marked = set(PendingDeal.objects.filter(team=team).values_list("deal__external_id", flat=True))
    assert marked == {"A", "B"}
    assert flow(team) == Counter()  # nothing counted before the recompute drains
    assert team_pending_drain(team=team) == 2
    assert flow(team)[("inquiry", WEEK1, "entered", -1)] == 2
    assert team_pending_drain(team=team) == 0  # drained once; a second run changes nothing
    assert flow(team)[("inquiry", WEEK1, "entered", -1)] == 2
    assert PendingDeal.objects.filter(team=other_team).count() == 1  # other teams untouched


def test_a_replayed_batch_marks_nothing(team):
    batch = [ev("a1", "A", 0, stage="inquiry")]
    ingest(team, batch)
    stage_events_ingest(team=team, origin="api", events=batch)
    assert not PendingDeal.objects.filter(team=team).exists()


def test_the_drain_works_in_chunks(team):
    ingest(team, [ev(f"e{i}", f"D{i}", i % 5, stage="inquiry") for i in range(7)])
    stage_events_ingest(
        team=team, origin="api", events=[ev(f"f{i}", f"D{i}", 6, stage="engaged") for i in range(7)]
    )
    assert team_pending_drain(team=team, chunk=3) == 7
    assert flow(team)[("engaged", WEEK1, "entered", -1)] == 7
    assert sum(n for (_, _, kind, _), n in flow(team).items() if kind == "advanced") == 7
