"""The stale rule's pure parts: which journeys read as lost, and N proposed from the data."""

import datetime as dt

import pytest

from funnel.metrics.accounting import DealJourney
from funnel.metrics.stale import (
    StaleCut,
    journey_with_stale,
    nearest_rank,
    stale_days_proposal,
)

T0 = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)


def at(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


CUT = StaleCut(days=30, as_of=at(100))  # stale: last event before day 70


def test_an_open_journey_quiet_for_more_than_n_days_is_lost_at_last_event_plus_n():
    journey = DealJourney(visits=((1, at(0)), (2, at(40))))
    read = journey_with_stale(journey, last_event_at=at(40), cut=CUT)
    assert read == DealJourney(visits=journey.visits, outcome="lost", closed_at=at(70))


@pytest.mark.parametrize(
    "journey, last",
    [
        (DealJourney(visits=((1, at(0)),)), at(70)),  # exactly N days quiet: not stale
        (DealJourney(visits=((1, at(0)),)), at(90)),  # recent
        (DealJourney(visits=((1, at(0)),), outcome="won", closed_at=at(5)), at(5)),  # closed
        (DealJourney(visits=((1, at(0)),), outcome="lost", closed_at=at(5)), at(5)),
    ],
)
def test_other_journeys_are_unchanged(journey, last):
    assert journey_with_stale(journey, last_event_at=last, cut=CUT) is journey


def test_no_rule_changes_nothing():
    journey = DealJourney(visits=((1, at(0)),))
    assert journey_with_stale(journey, last_event_at=at(0), cut=None) is journey


def test_nearest_rank_by_hand():
    values = [5, 1, 4, 2, 3]
    assert nearest_rank(values, 50) == 3  # ceil(2.5) = 3rd smallest
    assert nearest_rank(values, 95) == 5  # ceil(4.75) = 5th
    assert nearest_rank(values, 20) == 1  # ceil(1.0) = 1st


def test_proposal_by_hand():
    # 11 closed deals: ten with events one day apart then 3 days to the outcome (gaps 1, 3),
    # one with gaps 10 and 44 days. Gaps sorted: ten 1s, ten 3s, 10, 44 (22 gaps).
    # 95th percentile, nearest rank: ceil(0.95 * 22) = 21st smallest = 10 days -> 2 weeks.
    deals = [[at(0), at(1), at(4)] for _ in range(10)] + [[at(0), at(10), at(54)]]
    proposal = stale_days_proposal(deals)
    assert (proposal.percentile_days, proposal.days) == (10, 14)
    assert (proposal.gaps, proposal.deals, proposal.percentile) == (22, 11, 95)
    # At the 90th percentile: ceil(19.8) = 20th smallest = 3 days -> 1 week.
    assert stale_days_proposal(deals, percentile=90).days == 7


def test_proposal_needs_enough_gaps():
    assert stale_days_proposal([[at(0), at(2)]] * 19) is None  # 19 gaps
    assert stale_days_proposal([[at(0), at(2)]] * 20).days == 7
    assert stale_days_proposal([]) is None
