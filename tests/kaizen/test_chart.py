"""The chart's geometry: points in the plot, gaps for empty weeks, Do region, dividers."""

import datetime as dt

from kaizen.chart import weekly_chart

WEEKS = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(6)]
LIMITS = {"mean": 0.5, "upper": 0.9, "lower": 0.1}


def test_points_lines_and_regions():
    chart = weekly_chart(
        weeks=WEEKS,
        values=[0.4, 0.5, None, 0.6, 0.95, 0.9],
        volumes=[10, 10, 0, 10, 20, 10],
        percent=True,
        metric_label="Proposal conversion",
        limits=LIMITS,
        do_start_index=4,
        do_value=0.93,
        signals={4: 1},
        dividers=[(dt.date(2026, 1, 19), "Definition changed")],
    )
    assert len(chart.points) == 5 and len(chart.paths) == 2  # the empty week breaks the line
    assert all(chart.plot_top <= p.y <= chart.plot_bottom for p in chart.points)
    assert all(chart.plot_left <= p.x <= chart.plot_right for p in chart.points)
    higher = {p.week: p.y for p in chart.points}
    assert higher[WEEKS[4]] < higher[WEEKS[0]]  # SVG y grows downwards
    assert [p.signal for p in chart.points].count("up") == 1
    assert [p.in_do for p in chart.points] == [False, False, False, True, True]
    assert {d.kind for d in chart.dividers} == {"do", "definition"}
    assert chart.do_mean == "93 %"
    margin = sorted(line.label_y for line in chart.lines if line.in_margin)
    assert all(b - a >= 12 for a, b in zip(margin, margin[1:], strict=False))
    assert "1 signal week" in chart.description


def test_no_data_is_an_empty_chart():
    chart = weekly_chart(
        weeks=WEEKS, values=[None] * 6, volumes=[0] * 6, percent=True, metric_label="X"
    )
    assert chart.empty and not chart.points
