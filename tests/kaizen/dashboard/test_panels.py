"""The dashboard's panel arithmetic (kaizen.dashboard.panels), checked by hand."""

import datetime as dt

from kaizen.dashboard.panels import conversion_series, value_stream, week_calendar, window_label
from kaizen.dashboard.selectors import WeekRow

END = dt.date(2026, 11, 23)  # a Monday


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


def test_value_stream_states_the_verdicts_level_when_no_stage_was_tested():
    """A history too short for a verdict (every deal decided on one date, as in an export with
    no dates) has no contenders; the map still says which level its intervals use."""
    figures = {
        "recent_from": "2015-01-05",
        "recent_to": "2015-04-06",
        "won_per_week": 0.0,
        "confidence": 0.95,
        "contenders": [],
        "flow": [{"stage_position": 1, "median_days": None, "p85_days": None, "wip": 0}],
    }
    stream = value_stream(figures=figures, rows=[], bottleneck_position=None)
    assert stream.confidence == 0.95


def test_a_window_across_new_year_names_both_years():
    assert window_label("2011-11-28", "2012-02-27") == "28 Nov 2011 – 26 Feb 2012"
    assert window_label("2012-03-05", "2012-06-04") == "5 Mar – 3 Jun 2012"
