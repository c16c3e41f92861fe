"""Chart and panel arithmetic, checked against values worked out by hand."""

import datetime as dt

from kaizen.dashboard.charts import nice_ticks, sparkline, xmr_svg
from kaizen.dashboard.panels import conversion_series, value_stream, week_calendar
from kaizen.dashboard.selectors import WeekRow

END = dt.date(2026, 11, 23)  # a Monday


def test_xmr_marks_the_point_outside_the_limits_and_only_it():
    weeks = week_calendar(END, 20)
    values = [10.0, 12.0] * 8 + [30.0, 11.0, 10.0, 12.0]
    chart = xmr_svg(key="k", title="T", unit="u", periods=weeks, values=values)
    # Baseline: the first 12 points, mean 11, mean moving range 2: limits 11 ± 5.32.
    band = chart.bands[0]
    assert (band.mean_label, band.upper_label, band.lower_label) == ("11", "16", "5.7")
    flagged = [i for i, p in enumerate(chart.points) if p.signal]
    assert flagged == [16]
    assert chart.signals == 1 and "outside the limits" in chart.points[16].why
    assert "1 signal:" in chart.desc


def test_a_divider_splits_the_chart_at_the_week_of_its_date():
    weeks = week_calendar(END, 20)
    values = [10.0, 12.0] * 10
    do_start = weeks[12] + dt.timedelta(days=2)  # a Wednesday in week 12
    chart = xmr_svg(
        key="k", title="T", unit="u", periods=weeks, values=values, breaks=[(do_start, "Do: x")]
    )
    assert len(chart.dividers) == 1 and chart.dividers[0].label == "Do: x"
    # The divider sits halfway between the points of weeks 11 and 12.
    assert chart.points[11].x < chart.dividers[0].x < chart.points[12].x
    assert len(chart.bands) == 2
    assert chart.bands[1].mean is not None  # 8 points after the divider: enough for limits


def test_weeks_without_a_value_leave_a_gap_not_a_zero():
    weeks = week_calendar(END, 6)
    chart = xmr_svg(key="k", title="T", unit="u", periods=weeks, values=[1, 2, None, 3, 4, 5])
    assert len(chart.points) == 5
    assert chart.path.count("M") == 2  # the line breaks at the missing week


def test_too_few_points_give_an_empty_chart():
    chart = xmr_svg(
        key="k", title="T", unit="u", periods=week_calendar(END, 3), values=[None, 1, None]
    )
    assert chart.empty and not chart.points


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0, 23) == [0, 10, 20, 30] or nice_ticks(0, 23) == [0, 5, 10, 15, 20, 25]
    ticks = nice_ticks(0.13, 0.92)
    assert ticks[0] <= 0.13 and ticks[-1] >= 0.92
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1


def test_conversion_is_pooled_until_a_typical_period_has_ten_decided_deals():
    weeks = week_calendar(END, 8)
    rows = [WeekRow(3, w, 5, 2, 1) for w in weeks]  # 3 decided a week
    series = conversion_series(rows, position=3, weeks=weeks)
    assert series.weeks_per_period == 4  # 2 weeks give 6, 4 weeks give 12
    assert series.periods == [weeks[0], weeks[4]]
    assert series.values == [8 / 12, 8 / 12]


def test_value_stream_volumes_and_lead_time():
    weeks = week_calendar(END, 13)
    rows = [WeekRow(1, w, 10, 6, 2) for w in weeks] + [WeekRow(2, w, 6, 3, 3) for w in weeks]
    rows.append(WeekRow(1, END - dt.timedelta(weeks=20), 99, 0, 0))  # before the window
    figures = {
        "recent_from": weeks[0].isoformat(),
        "recent_to": END.isoformat(),
        "won_per_week": 3.0,
        "contenders": [
            {
                "stage_position": 1,
                "slug": "a",
                "name": "A",
                "station": "market",
                "current": 0.75,
                "low": 0.6,
                "high": 0.85,
                "n": 104,
                "gap": -0.1,
                "signal": False,
                "confidence": 0.99,
            },
            {
                "stage_position": 2,
                "slug": "b",
                "name": "B",
                "station": "selling",
                "current": 0.5,
                "low": 0.3,
                "high": 0.6,
                "n": 78,
                "gap": 1.2,
                "signal": True,
                "confidence": 0.99,
            },
        ],  # fmt: skip
        "flow": [
            {"stage_position": 1, "median_days": 4.0, "p85_days": 9.0, "wip": 7, "aged_wip": 1},
            {"stage_position": 2, "median_days": 10.5, "p85_days": 20.0, "wip": 12, "aged_wip": 4},
        ],
    }
    stream = value_stream(figures=figures, rows=rows, bottleneck_position=2)
    a, b = stream.boxes
    assert (a.entered_per_week, b.entered_per_week) == (10, 6)
    assert (a.lost_per_week, b.lost_per_week) == (2, 3)
    assert stream.arrivals_per_week == 10 and stream.won_per_week == 3.0
    assert stream.lead_time_days == 14.5 and stream.lead_time_p85_days == 29.0
    assert b.bottleneck and not a.bottleneck and stream.weeks == 13


def test_sparkline_needs_two_points():
    assert sparkline([3.0]) is None
    spark = sparkline([0.0, 2.0, 4.0], width=104, height=32)
    assert spark.path.startswith("M2.0,29.0") and spark.last_y == 3.0
