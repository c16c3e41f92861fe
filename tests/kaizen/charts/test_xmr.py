"""The one XmR chart geometry (kaizen.charts.xmr), checked against values worked out by hand: the
dashboards' charts (limits per segment) and a PDCA cycle's (a frozen baseline, the Do window)."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.metrics.xmr import xmr_limits
from kaizen.charts.layout import CHAR_WIDTH, nice_ticks, pct
from kaizen.charts.xmr import FrozenBaseline, xmr_svg
from kaizen.dashboard.panels import week_calendar

END = dt.date(2026, 11, 23)  # a Monday
WEEKS = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(6)]
# Mean 0.5, mean moving range 0.1: limits 0.234 to 0.766, half-way lines 0.367 and 0.633.
BASELINE = xmr_limits([0.45, 0.55] * 6)


def chart_of(values, **kwargs):
    return xmr_svg(key="k", title="T", unit="u", periods=week_calendar(END, len(values)),
                   values=values, **kwargs)  # fmt: skip


def test_xmr_marks_the_point_outside_the_limits_and_only_it():
    values = [10.0, 12.0] * 8 + [30.0, 11.0, 10.0, 12.0]
    chart = chart_of(values)
    # Baseline: the first 12 points, mean 11, mean moving range 2: limits 11 ± 5.32.
    band = chart.bands[0]
    assert (band.mean_label, band.upper_label, band.lower_label) == ("11", "16", "5.7")
    flagged = [i for i, p in enumerate(chart.points) if p.signal]
    assert flagged == [16] and chart.points[16].signal == "up"
    assert chart.signals == 1 and "outside the limits" in chart.points[16].why
    assert "signal up: outside the limits" in chart.points[16].title
    assert "1 signal:" in chart.desc
    # The latest limits are labelled in the right margin, outside the plot.
    assert [m.kind for m in chart.margin_labels] == ["upper", "mean", "lower"]
    assert [m.value for m in chart.margin_labels] == ["16", "11", "5.7"]


def test_a_divider_splits_the_chart_at_the_week_of_its_date():
    weeks = week_calendar(END, 20)
    do_start = weeks[12] + dt.timedelta(days=2)  # a Wednesday in week 12
    chart = chart_of([10.0, 12.0] * 10, dividers=[(do_start, "Do: x", "do")])
    assert len(chart.dividers) == 1 and chart.dividers[0].label == "Do: x"
    # The divider sits halfway between the points of weeks 11 and 12.
    assert chart.points[11].x < chart.dividers[0].x < chart.points[12].x
    assert len(chart.bands) == 2
    assert chart.bands[1].mean is not None  # 8 points after the divider: enough for limits
    assert chart.bands[0].x2 == chart.bands[1].x1 == chart.dividers[0].x


def test_a_segment_too_short_for_limits_has_none():
    weeks = week_calendar(END, 20)
    chart = chart_of([10.0, 12.0] * 10, dividers=[(weeks[17], "Do: x", "do")])
    assert [b.mean is not None for b in chart.bands] == [True, False]
    assert chart.margin_labels == ()  # no limits to label at the right edge
    assert "Too few points for limits." in chart.desc


def test_divider_labels_stay_inside_the_chart_and_apart():
    weeks = week_calendar(END, 20)
    chart = chart_of(
        [10.0, 12.0] * 10,
        dividers=[
            (weeks[17], "Do: Written proposal template", "do"),
            (weeks[18], "Qualified v2", "definition"),
        ],
    )
    late, later = chart.dividers
    assert late.anchor == later.anchor == "end"  # near the right edge: read leftwards
    for d in chart.dividers:
        assert d.text_x - len(d.short) * CHAR_WIDTH >= 0 and d.text_x <= chart.width
        assert d.text_y > 0
    assert late.text_y != later.text_y  # they would overlap on one row
    assert {d.kind for d in chart.dividers} == {"do", "definition"}


def test_weeks_without_a_value_leave_a_gap_not_a_zero():
    chart = chart_of([1, 2, None, 3, 4, 5])
    assert len(chart.points) == 5
    assert chart.path.count("M") == 2  # the line breaks at the missing week


def test_too_few_points_give_an_empty_chart():
    chart = chart_of([None, 1, None])
    assert chart.empty and not chart.points


def test_a_cycle_chart_holds_the_do_window_against_the_frozen_baseline():
    chart = xmr_svg(
        key="cycle",
        title="Proposal conversion by week",
        unit="of decided deals advance",
        periods=WEEKS,
        values=[0.4, 0.5, None, 0.6, 0.95, 0.6],
        volumes=[10, 10, 0, 10, 20, 10],
        fmt=pct,
        baseline=FrozenBaseline(BASELINE, do_start=4, do_mean=0.93),
        dividers=[(dt.date(2026, 1, 19), "Definition changed", "definition")],
    )
    assert len(chart.points) == 5 and chart.path.count("M") == 2  # the empty week: a gap
    assert all(chart.plot_top <= p.y <= chart.plot_bottom for p in chart.points)
    assert all(chart.plot_left <= p.x <= chart.plot_right for p in chart.points)
    by_label = {p.label: p for p in chart.points}
    assert by_label["2 Feb 2026"].y < by_label["5 Jan 2026"].y  # SVG y grows downwards
    # Only the Do weeks are judged, as the Check judges them: 95 % is above the upper limit.
    assert [p.signal for p in chart.points] == ["", "", "", "up", ""]
    assert [p.in_do for p in chart.points] == [False, False, False, True, True]
    assert "(20 decided)" in chart.points[3].title
    # The definition change is marked but does not start new limits: one band, the baseline's.
    assert len(chart.bands) == 1 and chart.bands[0].upper_label == "77 %"
    assert [d.kind for d in chart.dividers] == ["definition", "do"]
    assert chart.dividers[1].label == "Do starts 2 Feb"
    assert chart.do.mean == "93 %" and chart.do.x == chart.dividers[1].x
    margin = [m.y for m in chart.margin_labels]
    assert all(b - a >= 12 for a, b in zip(margin, margin[1:], strict=False))
    assert "1 signal in the Do window" in chart.desc
    assert "Baseline mean 50 %, natural process limits 23 % to 77 %" in chart.desc


def test_a_rate_never_shows_limits_beyond_100_percent():
    wide = xmr_limits([0.3, 0.9] * 6)  # upper limit 2.2: no rate gets there
    chart = xmr_svg(
        key="k", title="T", unit="u", periods=WEEKS, values=[0.3, 0.9, 0.3, 0.9, 0.3, 0.9],
        fmt=pct, baseline=FrozenBaseline(wide),
    )  # fmt: skip
    assert chart.bands[0].upper_label == "100 %" and chart.y_ticks[-1].label == "100 %"
    assert chart.bands[0].lower is None  # below 0 %: not drawn
    assert not chart.do and chart.signals == 0  # no Do window, nothing judged


def test_no_data_is_an_empty_chart():
    chart = xmr_svg(
        key="k", title="T", unit="u", periods=WEEKS, values=[None] * 6,
        baseline=FrozenBaseline(None),
    )  # fmt: skip
    assert chart.empty and not chart.points


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0, 23) == [0, 10, 20, 30] or nice_ticks(0, 23) == [0, 5, 10, 15, 20, 25]
    ticks = nice_ticks(0.13, 0.92)
    assert ticks[0] <= 0.13 and ticks[-1] >= 0.92
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1


@settings(deadline=None)  # each chart is drawn in three frames; a busy machine is slow
@given(
    st.lists(st.one_of(st.none(), st.floats(0, 500, allow_nan=False)), min_size=2, max_size=60),
    st.integers(0, 59),
)
def test_every_mark_lies_inside_the_plot(values, cut):
    weeks = week_calendar(END, len(values))
    chart = chart_of(values, dividers=[(weeks[cut % len(values)], "Do: x", "do")])
    if chart.empty:
        assert sum(v is not None for v in values) < 2
        return
    for layout in chart.layouts:  # wide, medium and compact alike
        inside_y = lambda y, c=layout: c.plot_top <= y <= c.plot_bottom  # noqa: E731
        assert all(
            inside_y(p.y) and layout.plot_left <= p.x <= layout.plot_right for p in layout.points
        )
        for b in layout.bands:
            assert layout.plot_left <= b.x1 < b.x2 <= layout.plot_right
            assert all(inside_y(y) for y in (b.mean, b.upper, b.lower) if y is not None)
        assert all(inside_y(t.at) for t in layout.y_ticks)
        margin = [m.y for m in layout.margin_labels]
        assert all(b - a >= 12 for a, b in zip(margin, margin[1:], strict=False))
