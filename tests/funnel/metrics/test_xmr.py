import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.metrics.xmr import XmrRule, xmr_chart, xmr_limits, xmr_points

BASELINE = [10.0, 12.0, 11.0, 13.0, 12.0]


def test_limits_hand_worked():
    # mean = 58 / 5 = 11.6; moving ranges 2, 1, 2, 1 -> mean moving range 1.5
    # limits 11.6 ± 2.66 * 1.5 = 11.6 ± 3.99; half-way 11.6 ± 1.995; URL 3.268 * 1.5 = 4.902
    limits = xmr_limits(BASELINE)
    assert limits.mean == pytest.approx(11.6)
    assert limits.mean_moving_range == pytest.approx(1.5)
    assert (limits.lower, limits.upper) == (pytest.approx(7.61), pytest.approx(15.59))
    assert (limits.lower_half, limits.upper_half) == (pytest.approx(9.605), pytest.approx(13.595))
    assert limits.upper_range_limit == pytest.approx(4.902)


def test_point_outside_the_limits():
    chart = xmr_chart([*BASELINE, 16.0, 7.0], baseline_length=5)
    high, low = chart.points[5], chart.points[6]
    assert high.rules == (XmrRule.OUTSIDE_LIMITS,) and high.direction == 1
    # 16 -> 7 is a moving range of 9 > 4.902: a range signal too.
    assert XmrRule.OUTSIDE_LIMITS in low.rules and low.direction == -1 and low.range_signal
    assert not any(p.signal for p in chart.points[:5])


def test_three_of_four_beyond_the_half_way_line():
    # 14, 11, 14, 14: three of four beyond 13.595; the 11 is not flagged.
    chart = xmr_chart([*BASELINE, 14.0, 11.0, 14.0, 14.0], baseline_length=5)
    flagged = [p.index for p in chart.points if XmrRule.THREE_OF_FOUR in p.rules]
    assert flagged == [5, 7, 8]
    assert all(chart.points[i].direction == 1 for i in flagged)


def test_eight_on_one_side_of_the_mean():
    # Baseline ends 13, 12 (above 11.6); eight more 12s make a run of ten from index 3.
    chart = xmr_chart([*BASELINE, *[12.0] * 8], baseline_length=5)
    flagged = [p.index for p in chart.points if XmrRule.EIGHT_ON_ONE_SIDE in p.rules]
    assert flagged == list(range(3, 13))
    # Seven are not enough.
    chart = xmr_chart([*BASELINE, 11.0, *[12.0] * 7], baseline_length=5)
    assert not any(p.signal for p in chart.points)


def test_each_segment_has_its_own_limits():
    shifted = [v + 100 for v in BASELINE]
    undivided = xmr_chart([*BASELINE, *shifted], baseline_length=5)
    assert all(p.signal and p.direction == 1 for p in undivided.points[5:])
    divided = xmr_chart([*BASELINE, *shifted], breaks=[5], baseline_length=5)
    assert not any(p.signal for p in divided.points)
    assert [(s.start, s.end) for s in divided.segments] == [(0, 5), (5, 10)]
    assert divided.segments[1].limits.mean == pytest.approx(111.6)
    assert divided.points[5].moving_range is None  # no moving range across a divider


def test_short_segment_has_no_limits():
    chart = xmr_chart([*BASELINE, 1.0, 50.0], breaks=[5], baseline_length=5)
    assert chart.segments[1].limits is None
    assert not any(p.signal for p in chart.points)


def test_points_against_earlier_limits():
    # A Do window judged against the limits of the weeks before it.
    points = xmr_points([16.0, 14.0, 14.0], xmr_limits(BASELINE), start_index=5, segment=1)
    assert [p.index for p in points] == [5, 6, 7]
    assert points[0].rules == (XmrRule.OUTSIDE_LIMITS, XmrRule.THREE_OF_FOUR)


def test_baseline_needs_two_points():
    with pytest.raises(ValueError):
        xmr_limits([1.0])


series = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=5, max_size=40)


@settings(max_examples=100, deadline=None)
@given(series, st.integers(5, 20))
def test_limits_match_numpy_and_are_symmetric(values, baseline_length):
    chart = xmr_chart(values, baseline_length=baseline_length)
    limits = chart.segments[0].limits
    base = np.array(values[:baseline_length])
    assert limits.mean == pytest.approx(base.mean(), abs=1e-9)
    assert limits.mean_moving_range == pytest.approx(np.abs(np.diff(base)).mean(), abs=1e-9)
    assert limits.upper - limits.mean == pytest.approx(limits.mean - limits.lower, abs=1e-9)
    assert limits.upper_half - limits.mean == pytest.approx(limits.mean - limits.lower_half)
    for point in chart.points:
        if point.signal:
            assert point.direction == (1 if point.value > limits.mean else -1)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(1, 60))
def test_a_constant_series_has_no_signals(value, length):
    chart = xmr_chart([value] * length, baseline_length=12, min_baseline=2)
    assert not any(p.signal or p.range_signal for p in chart.points)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-100, 100), min_size=5, max_size=40),
    st.integers(-1000, 1000),
    st.sampled_from([1, 2, 4]),
)
def test_signals_do_not_depend_on_units(values, shift, scale):
    # Exact arithmetic (integers, power-of-two scale) so no signal flips on rounding.
    base = xmr_chart([float(v) for v in values])
    moved = xmr_chart([float(v * scale + shift) for v in values])
    assert [p.rules for p in base.points] == [p.rules for p in moved.points]
    mirrored = xmr_chart([float(-v) for v in values])
    assert [p.direction for p in mirrored.points] == [-p.direction for p in base.points]
