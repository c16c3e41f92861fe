"""What counts as an answer: recorded by a person, or derived from the deal moving on within
the tactic's window by the rule version in force; and the counts per tactic and per prospect."""

import datetime as dt

import pytest

from funnel.models import Origin, Stage, StageEvent, Tactic, Touch
from funnel.pipeline.tactics import team_tactics_rebuild
from funnel.touches.selectors import tactic_counts_for_team, tactic_weekly_counts
from funnel.touches.services import response_rule_set, tactic_create
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _touch(team, tactic, touch_id, *, deal=None, prospect="", days=0, responded=None):
    return Touch.objects.create(
        team=team,
        touch_id=touch_id,
        tactic=Tactic.objects.get(team=team, slug=tactic),
        channel="phone",
        deal=deal,
        prospect=prospect,
        occurred_at=T0 + dt.timedelta(days=days),
        responded=responded,
        origin=Origin.API,
    )


def _moves(team, deal, days, stage="qualified"):
    StageEvent.objects.create(
        team=team,
        deal=deal,
        stage=Stage.objects.get(team=team, slug=stage),
        occurred_at=T0 + dt.timedelta(days=days),
        event_id=f"{deal.external_id}-move-{days}",
        origin=Origin.API,
    )


def _by_tactic(team, **kw):
    team_tactics_rebuild(team=team)
    counts = tactic_counts_for_team(team=team, **kw)
    return {c.tactic.slug: (c.touches, c.responses) for c in counts.tactics}, counts


def test_recorded_and_derived_answers(team, rep):
    moved = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    late = deal_with_history(team=team, external_id="D-2", stages=["inquiry"], owner=rep)
    said_no = deal_with_history(team=team, external_id="D-3", stages=["inquiry"], owner=rep)
    _moves(team, moved, days=10)  # within the 14-day window of the default rule
    _moves(team, late, days=20)  # too late
    _moves(team, said_no, days=3)  # moved on, but the rep recorded no answer
    _touch(team, "call", "a", deal=moved)
    _touch(team, "call", "b", deal=late)
    _touch(team, "call", "c", deal=said_no, responded=False)
    _touch(team, "call", "d", prospect="P-1", responded=True)
    _touch(team, "email", "e", prospect="P-1")
    counts, result = _by_tactic(team)
    assert counts == {"call": (4, 2), "email": (1, 0)}
    # Prospects (touches, answered): D-1 (1, yes), D-2 (1, no), D-3 (1, no), P-1 (2, yes).
    assert result.at_least == {1: (4, 2), 2: (1, 1)}


def test_a_new_rule_version_changes_what_counts(team, rep, manager):
    deal = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    _moves(team, deal, days=10)
    _touch(team, "call", "a", deal=deal)
    call = Tactic.objects.get(team=team, slug="call")
    response_rule_set(tactic=call, window_days=7, by=manager, note="A week is enough")
    assert _by_tactic(team)[0] == {"call": (1, 0)}
    response_rule_set(tactic=call, window_days=None, by=manager)
    assert _by_tactic(team)[0] == {"call": (1, 0)}
    assert list(call.response_rules.values_list("number", "window_days")) == [
        (1, 14),
        (2, 7),
        (3, None),
    ]


def test_a_tactic_without_a_window_counts_recorded_answers_only(team, rep):
    tactic_create(team=team, slug="webinar", name="Webinar", channel="event")
    deal = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    _moves(team, deal, days=1)
    _touch(team, "webinar", "a", deal=deal)
    _touch(team, "webinar", "b", prospect="P-2", responded=True)
    assert _by_tactic(team)[0] == {"webinar": (2, 1)}


def test_the_period_and_the_team_bound_the_counts(team, other_team):
    _touch(team, "call", "old", prospect="P-1", days=-100, responded=True)
    _touch(team, "call", "new", prospect="P-1", days=0)
    _touch(other_team, "call", "theirs", prospect="P-1", responded=True)
    assert _by_tactic(team, since=(T0 - dt.timedelta(days=28)).date())[0] == {"call": (1, 0)}
    assert _by_tactic(team)[0] == {"call": (2, 1)}


def test_weekly_counts_for_a_cycle_by_hand(team, rep):
    """T0 is a Monday. Week 1: three calls, one answered; week 2: none; week 3: two calls, one
    answered by the deal moving on within the window."""
    deal = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    _touch(team, "call", "a", prospect="P-1", days=0, responded=True)
    _touch(team, "call", "b", prospect="P-2", days=2)
    _touch(team, "call", "c", prospect="P-3", days=6, responded=False)
    _touch(team, "call", "d", deal=deal, days=15)
    _touch(team, "call", "e", prospect="P-4", days=16)
    _moves(team, deal, days=20)
    weeks = tactic_weekly_counts(tactic=Tactic.objects.get(team=team, slug="call"))
    assert [(w.week, w.touches, w.responses) for w in weeks] == [
        (dt.date(2026, 1, 5), 3, 1),
        (dt.date(2026, 1, 12), 0, 0),
        (dt.date(2026, 1, 19), 2, 1),
    ]
    assert weeks[0].rate == pytest.approx(1 / 3) and weeks[1].rate is None
