"""The forest chart's scale: every interval and the reference fit, zoomed to whole tenths."""

from hypothesis import given
from hypothesis import strategies as st

from funnel.metrics.intervals import wilson_interval
from funnel.winnable.chart import chart_mark, chart_scale


def test_scale_by_hand():
    rates = [wilson_interval(30, 40), wilson_interval(15, 60)]  # 0.75 (0.60-0.86), 0.25 (0.16-0.37)
    scale = chart_scale(rates, wilson_interval(45, 100))
    assert (scale.low, scale.high) == (0.1, 0.9)
    assert scale.x(0.5) == 50.0 and scale.x(0.1) == 0.0 and scale.x(0.95) == 100.0
    assert [t.label for t in scale.ticks] == ["10 %", "30 %", "50 %", "70 %", "90 %"]
    mark = chart_mark(rates[0], scale)
    assert mark.x == 81.25 and mark.x_low < mark.x < mark.x_high


def test_empty_and_missing_rates():
    scale = chart_scale([], None)
    assert (scale.low, scale.high) == (0.0, 1.0)
    assert chart_mark(wilson_interval(0, 0), scale) is None


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 500)), min_size=1, max_size=20))
def test_every_interval_fits_inside_the_track(pairs):
    rates = [wilson_interval(min(k, n), n) for k, n in pairs]
    scale = chart_scale(rates, rates[0])
    assert 0.0 <= scale.low < scale.high <= 1.0 and scale.high - scale.low >= 0.2 - 1e-9
    for r in rates:
        assert scale.low - 1e-9 <= r.low and r.high <= scale.high + 1e-9
    assert scale.ticks[0].x == 0.0 and all(0 <= t.x <= 100 for t in scale.ticks)
