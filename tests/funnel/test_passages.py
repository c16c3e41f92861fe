"""Deal passages and weekly stage-flow counts stay exact however events arrive."""

import datetime as dt
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Deal, DealPassage, StageFlow
from funnel.passages import team_flow_from_passages, team_flow_rebuild

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


def flow(team):
    return Counter(
        {
            (row.stage.slug, row.week, row.kind, row.days): row.count
            for row in StageFlow.objects.filter(team=team).select_related("stage")
        }
    )


def test_hand_worked_example(team):
    # Deal A: inquiry Mon wk1, qualified Thu wk1 (skips engaged), won Tue wk2.
    # Deal B: inquiry Mon wk1, lost Wed wk1.
    stage_events_ingest(
        team=team,
        origin="api",
        events=[
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
    stage_events_ingest(team=team, origin="api", events=[ev("a2", "A", 3, stage="engaged")])
    before = flow(team)
    assert before[("inquiry", WEEK1, "entered", -1)] == 1  # skipped inquiry, entered on day 3
    assert before[("inquiry", WEEK1, "advanced", -1)] == 1
    # The inquiry event arrives late: inquiry now has a real stay of 3 days.
    stage_events_ingest(team=team, origin="api", events=[ev("a1", "A", 0, stage="inquiry")])
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
    Deal.objects.filter(team=team).delete()
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
    incremental = flow(team)
    team_flow_rebuild(team=team)
    assert flow(team) == incremental
    team_flow_from_passages(team=team)
    assert flow(team) == incremental
