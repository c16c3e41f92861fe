"""The chart's frames (wide, medium, compact), its clamped rate limits, its notes and its legend,
checked against values worked out by hand."""

import datetime as dt
import re
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from funnel.metrics.xmr import xmr_limits
from kaizen.charts.layout import CHAR_WIDTH, COMPACT, WIDE, pct
from kaizen.charts.xmr import FrozenBaseline, xmr_svg
from kaizen.dashboard.context import conversion_period_why
from kaizen.dashboard.panels import week_calendar
from kaizen.views.cycle_page import _centre_line_note

END = dt.date(2026, 11, 23)


def chart_of(values, **kwargs):
    return xmr_svg(key="k", title="T", unit="u", periods=week_calendar(END, len(values)),
                   values=values, **kwargs)  # fmt: skip


def label_right(layout, m) -> float:
    return layout.plot_right + 6 + (len(m.name) + 1 + len(m.value)) * CHAR_WIDTH


def test_a_rates_upper_limit_above_100_percent_is_drawn_and_labelled_at_100():
    # 0.6 and 0.9 in turn: mean 0.75, every moving range 0.3, so the natural process limits
    # are 0.75 ± 2.66 × 0.3 = -0.048 and 1.548 (155 %): no rate gets there.
    chart = chart_of([0.6, 0.9] * 6, fmt=pct)
    for layout in chart.layouts:
        band = layout.bands[0]
        top = next(t for t in layout.y_ticks if t.label == "100 %")
        zero = next(t for t in layout.y_ticks if t.label == "0 %")
        assert band.upper == top.at and band.upper_label == "100 %"  # the line and the label
        assert band.mean_label == "75 %"
        assert band.lower is None and band.bottom == zero.at  # below 0 %: not drawn
        assert [m.value for m in layout.margin_labels] == ["100 %", "75 %"]
    assert "natural process limits 0 % to 100 %" in chart.desc
    assert "155" not in chart.desc and "-5 %" not in chart.desc


def test_a_frozen_baselines_limits_are_clamped_to_0_and_100_percent():
    # 0.8 and 1.0 in turn: mean 0.9, moving range 0.2, limits 0.9 ± 0.532 = 0.368 and 1.432.
    baseline = xmr_limits([0.8, 1.0] * 6)
    chart = chart_of([0.8, 1.0, 0.9, 0.8], fmt=pct, baseline=FrozenBaseline(baseline))
    assert (chart.bands[0].lower_label, chart.bands[0].upper_label) == ("37 %", "100 %")
    assert "Baseline mean 90 %, natural process limits 37 % to 100 %" in chart.desc


def test_every_frame_shows_the_latest_point_and_its_limit_labels_in_its_view_box():
    values = [10.0, 12.0] * 25 + [30.0, 11.0]  # 52 weeks, a signal in the last but one
    chart = chart_of(values, dividers=[(week_calendar(END, 52)[30], "Do: a long name", "do")])
    assert [c.frame for c in chart.layouts] == ["wide", "medium", "compact"]
    compact = chart.layouts[-1]
    assert (compact.width, compact.height) == (COMPACT.width, COMPACT.height)
    for layout in chart.layouts:
        last = layout.points[-1]
        assert last.label == "16 Nov 2026" and last.x + layout.radius <= layout.plot_right
        lower = {"lower"} if layout.bands[-1].lower is not None else set()
        assert {m.kind for m in layout.margin_labels} == {"upper", "mean"} | lower
        for m in layout.margin_labels:
            assert label_right(layout, m) <= layout.width and 0 < m.y <= layout.height
        # No mark reaches the margin where the limit labels are.
        reach = [p.x + layout.radius + (4 if p.signal else 0) for p in layout.points]
        assert max(reach) < layout.plot_right + 6
        for d in layout.dividers:
            width = len(d.short) * CHAR_WIDTH
            left = d.text_x if d.anchor == "start" else d.text_x - width
            assert left >= 0 and left + width <= layout.width
        assert layout.x_ticks[-1].label == "16 Nov"  # the latest week is always ticked
    assert len(compact.x_ticks) <= 4 < len(chart.x_ticks)
    assert compact.y_label == "" and chart.y_label == "u"  # the caption carries the unit


def test_a_frozen_chart_names_its_centre_line_the_baseline_mean():
    chart = chart_of([0.45, 0.55] * 6, fmt=pct, baseline=FrozenBaseline(xmr_limits([0.45, 0.55])))
    assert [m.name for m in chart.margin_labels if m.kind == "mean"] == [WIDE.frozen_mean]
    assert WIDE.frozen_mean == "Baseline mean"


def test_each_chart_says_what_a_point_is():
    assert chart_of([1.0, 2.0, 3.0]).notes == ("Each point: one week.",)
    pooled = chart_of([0.5, 0.6, 0.4], fmt=pct, period_days=28, period_why="because x")
    assert pooled.notes[0] == "Each point: 4 weeks pooled, because x."
    assert pooled.x_label == "4 weeks starting"


def test_the_conversion_period_is_explained_with_the_typical_weeks_decided_deals():
    # Weeks before the first decided deal are before the data began; from then on the decided
    # deals a week are 3, 2, 4, 1, 3: sorted 1, 2, 3, 3, 4, so a typical week has 3.
    why = conversion_period_why([0, 0, 3, 2, 4, 1, 3], 4, 10)
    assert why.startswith("because a typical week has only 3 decided deals")
    assert "at least 10" in why and "a week or two would be mostly noise" in why
    assert "only a week would" not in conversion_period_why([5, 5, 6], 2, 10)
    assert "a week would be mostly noise" in conversion_period_why([5, 5, 6], 2, 10)
    weekly = conversion_period_why([12, 10, 14], 1, 10)
    assert weekly == "a typical week has 12 decided deals, enough for a rate (at least 10)"


def test_the_centre_line_note_says_why_it_differs_from_the_pooled_baseline():
    # Weekly rates 0.1, 0.3 and 0.5 average 0.3; pooled, 10 of 25 deals is 40 %.
    limits = {"mean": 0.3}
    note = _centre_line_note(limits, [0.1, 0.3, 0.5, 0.9], 3, (10, 25))
    assert len(note) == 1
    assert "30.0 %, is the average of the 3 baseline weeks' rates" in note[0]
    assert "40.0 % (10 of 25), pools the decided deals" in note[0]
    assert _centre_line_note({"mean": 0.4}, [0.4, 0.4], None, (10, 25)) == ()  # they agree


def test_the_legend_draws_each_signal_with_the_class_of_its_marks():
    chart = chart_of([10.0, 12.0] * 8 + [30.0, 11.0])  # one signal, above
    assert chart.signal_kinds == ("up",)
    html = render_to_string("charts/_xmr.html", {"chart": chart})
    legend = html[html.index('class="xmr-legend"') :]
    svgs = html[: html.index('class="xmr-legend"')]
    assert 'class="pt is-signal signal-up"' in svgs and "signal-down" not in html
    assert 'class="pt is-signal signal-up"' in legend and "signal above the mean" in legend
    assert "xmr-scroll" not in html
    assert html.count('class="xmr-svg xmr-marks') == 3  # one per frame; CSS shows one
    css = (Path(settings.BASE_DIR) / "static/css/charts.css").read_text()
    # The colour of a signal is set once, for the marks and the legend's swatches alike.
    assert len(re.findall(r"signal-up[^{]*\{", css)) == 1
    assert ".xmr-marks .pt.signal-up circle" in css
    assert "overflow-x" not in css


def test_the_legend_shows_the_do_weeks_mark_only_when_drawn():
    weeks = week_calendar(END, 6)
    baseline = FrozenBaseline(xmr_limits([0.45, 0.55] * 6), do_start=4, do_mean=0.5)
    chart = xmr_svg(key="c", title="T", unit="u", periods=weeks, fmt=pct, baseline=baseline,
                    values=[0.4, 0.5, 0.6, 0.5, 0.5, None])  # fmt: skip
    assert chart.do_points and chart.signal_kinds == ()
    html = render_to_string("charts/_xmr.html", {"chart": chart})
    assert '<g class="pt is-do">' in html[html.index('class="xmr-legend"') :]
    assert "Do window, all its weeks pooled: 50 %" in html
