"""Stale rules change the counts exactly as defined, and switching the rule off restores them.

Hand-chosen events (days after START; the rebuild's "now" is day 100, and deal F's event on day
99 keeps the team live, so the rule is judged as of day 100):

    A  inquiry d0, engaged d10, won d20      closed
    B  inquiry d0, lost d5                   closed
    C  inquiry d0, engaged d30               open, last event d30 (70 days quiet)
    D  inquiry d50                           open, last event d50 (50 days quiet)
    E  inquiry d60, engaged d80              open, last event d80 (20 days quiet)
    F  inquiry d99                           open, last event d99 (1 day quiet)

A won deal passes every stage, so stages after "engaged" only hold A (advanced).
"""

import datetime as dt
from collections import Counter

import pytest

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import DealPassage, RecomputeState, StageFlow, StaleRule
from funnel.pipeline.passages import team_flow_rebuild, team_pending_drain
from funnel.pipeline.run import team_recompute
from funnel.pipeline.stale import open_deals_figures, stale_cut_of

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
NOW = START + dt.timedelta(days=100)

HISTORY = {
    "A": [(0, "inquiry"), (10, "engaged"), (20, "won")],
    "B": [(0, "inquiry"), (5, "lost")],
    "C": [(0, "inquiry"), (30, "engaged")],
    "D": [(50, "inquiry")],
    "E": [(60, "inquiry"), (80, "engaged")],
    "F": [(99, "inquiry")],
}


def day(n: float) -> dt.datetime:
    return START + dt.timedelta(days=n)


def events_of(deal: str, steps) -> list[EventIn]:
    return [
        EventIn(
            event_id=f"{deal}-{i}",
            deal_external_id=deal,
            occurred_at=day(d),
            stage=None if what in ("won", "lost") else what,
            outcome=what if what in ("won", "lost") else None,
        )
        for i, (d, what) in enumerate(steps)
    ]


@pytest.fixture
def history(team):
    stage_events_ingest(
        team=team, origin="api", events=[e for k, v in HISTORY.items() for e in events_of(k, v)]
    )
    team_pending_drain(team=team)
    return team


def set_rule(team, days):
    number = StaleRule.objects.filter(team=team).count() + 1
    StaleRule.objects.create(
        team=team, number=number, days=days, effective_from=dt.date(2026, 1, 1)
    )
    team_flow_rebuild(team=team, now=NOW)


def accounts(team) -> dict[str, tuple[int, int, int]]:
    """(advanced, lost, open) per stage, from the passages."""
    tally = Counter(
        (slug, result)
        for slug, result in DealPassage.objects.filter(team=team).values_list(
            "stage__slug", "result"
        )
    )
    slugs = ["inquiry", "engaged", "qualified", "proposal", "negotiation", "handover"]
    return {s: (tally[s, "advanced"], tally[s, "lost"], tally[s, "open"]) for s in slugs}


def flow(team) -> Counter:
    return Counter(
        {
            (row.stage.slug, row.week, row.kind, row.days): row.count
            for row in StageFlow.objects.filter(team=team).select_related("stage")
        }
    )


def week(n: float) -> dt.date:
    d = day(n).date()
    return d - dt.timedelta(days=d.weekday())


LATER = {s: (1, 0, 0) for s in ["qualified", "proposal", "negotiation", "handover"]}
OFF = {"inquiry": (3, 1, 2), "engaged": (1, 0, 2), **LATER}  # open: D, F / C, E
AT_60 = {"inquiry": (3, 1, 2), "engaged": (1, 1, 1), **LATER}  # C stale (70 > 60)
AT_45 = {"inquiry": (3, 2, 1), "engaged": (1, 1, 1), **LATER}  # C and D stale (50 > 45)


def test_the_rule_off_on_at_two_n_and_off_again(history):
    team = history
    team_flow_rebuild(team=team, now=NOW)
    assert accounts(team) == OFF
    flow_off = flow(team)

    set_rule(team, 60)
    assert accounts(team) == AT_60
    # C is lost in "engaged" at its last event + 60 days (day 90), after 60 days in the stage.
    assert flow(team)["engaged", week(90), "lost", 60] == 1
    assert flow(team) - flow_off == Counter({("engaged", week(90), "lost", 60): 1})

    set_rule(team, 45)
    assert accounts(team) == AT_45
    assert flow(team) - flow_off == Counter(
        {("engaged", week(75), "lost", 45): 1, ("inquiry", week(95), "lost", 45): 1}
    )

    set_rule(team, None)
    assert accounts(team) == OFF
    assert flow(team) == flow_off


def test_exactly_n_days_quiet_is_not_stale(history):
    # D's last event is 50 days before now: stale at 49 days, not at 50.
    team = history
    set_rule(team, 50)
    assert accounts(team)["inquiry"] == (3, 1, 2)  # only B lost; D and F open
    set_rule(team, 49)
    assert accounts(team)["inquiry"] == (3, 2, 1)


def test_a_new_event_makes_a_stale_deal_open_again_and_the_drain_keeps_the_cut(history):
    team = history
    set_rule(team, 60)
    state = RecomputeState.objects.get(team=team)
    assert (state.stale_days, state.stale_as_of) == (60, NOW)
    # Another deal's event and drain leave C's stale mark as it is (C2 opens in engaged).
    stage_events_ingest(team=team, origin="ui", events=events_of("C2", [(100, "engaged")]))
    team_pending_drain(team=team)
    assert accounts(team)["engaged"] == (1, 1, 2)  # A advanced; C stale; E, C2 open
    # C is touched again in its stage ("still alive"): open again, in engaged, same entry.
    alive = EventIn(event_id="C-alive", deal_external_id="C", occurred_at=day(100), stage="engaged")
    stage_events_ingest(team=team, origin="ui", events=[alive])
    team_pending_drain(team=team)
    assert accounts(team)["engaged"] == (1, 0, 3)  # A advanced; C, E and C2 open
    passage = DealPassage.objects.get(deal__external_id="C", stage__slug="engaged")
    assert (passage.entered_at, passage.left_at, passage.result) == (day(30), None, "open")


def test_figures_say_how_many_open_deals_were_left_out_or_counted_stale(history):
    team = history
    set_rule(team, 45)
    state = RecomputeState.objects.get(team=team)
    assert open_deals_figures(team=team, cut=stale_cut_of(state)) == {
        "open_left_out": 2,  # E, F
        "stale_counted": 2,  # C, D
        "stale_days": 45,
        "stale_as_of": NOW.date().isoformat(),
    }
    status = team_recompute(team=team, now=NOW)
    assert (status.figures["open_left_out"], status.figures["stale_counted"]) == (2, 2)
    set_rule(team, None)
    status = team_recompute(team=team, now=NOW)
    assert (status.figures["open_left_out"], status.figures["stale_counted"]) == (4, 0)
    assert status.figures["stale_days"] is None


def test_a_stopped_history_is_judged_as_of_its_horizon(history):
    # Judged a year later, the data stopped: the as-of is the start of the week of the newest
    # event (day 99, a Friday of the week starting day 95), not the year later.
    team = history
    set_rule(team, 60)
    team_flow_rebuild(team=team, now=NOW + dt.timedelta(days=365))
    state = RecomputeState.objects.get(team=team)
    assert state.stale_as_of == dt.datetime.combine(week(99), dt.time(), tzinfo=dt.UTC)
    # cutoff day 98 - 60 = day 38: C (30) stale; D (50), E, F not.
    assert accounts(team) == AT_60
