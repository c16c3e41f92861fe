import math
import statistics
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.metrics.accounting import DealJourney
from funnel.metrics.flow import (
    days_in_stage,
    days_in_stage_counts,
    funnel_flow,
    stage_durations_from_journeys,
    stage_flow,
)

START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def linear_percentile(values, q):
    """The textbook linear interpolation between order statistics, written out by hand."""
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def test_days_in_stage_hand_worked():
    # 1..10 days: median (5 + 6) / 2 = 5.5; 85th: h = 9 * 0.85 = 7.65 -> 8 + 0.65 * (9 - 8) = 8.65
    days = days_in_stage(list(range(1, 11)))
    assert (days.n, days.median) == (10, 5.5)
    assert days.p85 == pytest.approx(8.65)
    assert days_in_stage([]) == days_in_stage(()) and days_in_stage([]).median is None


def test_aged_wip_against_the_target():
    flow = stage_flow(
        stage_position=2, left_days=range(1, 11), open_age_days=[2, 8, 15], target_days=7
    )
    # 8 and 15 days are beyond the 7-day target.
    assert (flow.wip, flow.aged_wip, flow.aged_basis, flow.aged_after_days) == (3, 2, "target", 7)


def test_aged_wip_against_its_own_85th_percentile_without_a_target():
    flow = stage_flow(stage_position=2, left_days=range(1, 11), open_age_days=[2, 8, 15])
    # Only 15 days is beyond the 85th percentile of 8.65 days.
    assert (flow.aged_wip, flow.aged_basis) == (1, "p85")
    assert flow.aged_after_days == pytest.approx(8.65)


def test_no_aged_wip_without_target_or_history():
    flow = stage_flow(stage_position=1, left_days=[], open_age_days=[40, 50])
    assert (flow.wip, flow.aged_wip, flow.aged_basis) == (2, None, None)


def test_durations_from_journeys():
    deals = [
        # 3 days in stage 1, 4.5 in stage 2, then won (stage 3 skipped: not a wait).
        DealJourney(((1, day(0)), (2, day(3))), "won", day(7.5)),
        # 1 day in stage 1, skipped 2, 2 days in stage 3 before being lost.
        DealJourney(((1, day(1)), (3, day(2))), "lost", day(4)),
        # Open in stage 2 since day 10.
        DealJourney(((1, day(9)), (2, day(10)))),
    ]
    durations = stage_durations_from_journeys(deals, stage_positions=(1, 2, 3), now=day(20))
    by_stage = {d.stage_position: d for d in durations}
    assert sorted(by_stage[1].left_days) == [1.0, 1.0, 3.0]
    assert by_stage[2].left_days == (4.5,)
    assert by_stage[2].open_age_days == (10.0,)
    assert by_stage[3].left_days == (2.0,)
    # Only exits in [day 3, day 8): stage 1 was left on days 3, 2 and 10, so only the first
    # deal's 3 days count; stage 2 was left on day 7.5 and stage 3 on day 4.
    recent = stage_durations_from_journeys(
        deals, stage_positions=(1, 2, 3), now=day(20), left_from=day(3), left_to=day(8)
    )
    assert {d.stage_position: d.left_days for d in recent} == {1: (3.0,), 2: (4.5,), 3: (2.0,)}
    flows = funnel_flow(durations, target_days={2: 7})
    assert [f.aged_wip for f in flows] == [0, 1, 0]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0, 400, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(0, 400, allow_nan=False), max_size=30),
    st.one_of(st.none(), st.integers(1, 60)),
)
def test_flow_matches_a_hand_written_percentile(left, ages, target):
    flow = stage_flow(stage_position=1, left_days=left, open_age_days=ages, target_days=target)
    assert flow.days.median == pytest.approx(statistics.median(left))
    assert flow.days.p85 == pytest.approx(linear_percentile(left, 0.85))
    assert min(left) <= flow.days.median <= flow.days.p85 <= max(left)
    expected = target if target is not None else linear_percentile(left, 0.85)
    assert flow.aged_after_days == pytest.approx(expected)
    assert flow.aged_wip == sum(age > flow.aged_after_days for age in ages)
    assert 0 <= flow.aged_wip <= flow.wip == len(ages)


@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 30)), min_size=0, max_size=40),
)
def test_days_from_a_histogram_equal_numpy_on_the_expanded_values(cells):
    expanded = np.repeat([d for d, _ in cells], [c for _, c in cells]).astype(float)
    got = days_in_stage_counts(cells)
    assert got.n == expanded.size
    if expanded.size == 0:
        assert got.median is None and got.p85 is None
        return
    median, p85 = np.percentile(expanded, [50, 85])
    assert got.median == pytest.approx(median, rel=1e-12, abs=1e-12)
    assert got.p85 == pytest.approx(p85, rel=1e-12, abs=1e-12)


def test_days_from_a_histogram_by_hand():
    # 1, 2, 2, 2, 10: median 2; p85 at position 3.4 -> 2 + (10 - 2) * 0.4 = 5.2
    got = days_in_stage_counts([(2, 3), (10, 1), (1, 1), (7, 0)])
    assert (got.n, got.median, got.p85) == (5, 2.0, pytest.approx(5.2))
