"""The chart on a cycle's page: the whole Do window in view while it runs, the period and the
centre line explained, one frame per screen size and no sideways scroll box."""

import datetime as dt

from django.urls import reverse

from tests.kaizen.test_cycle_detail_view import do_cycle


def test_a_running_do_window_is_charted_to_its_end(login, manager, team):
    # The Do started a week ago and ends three weeks from this Monday: four weeks, of which
    # only the first has data yet; the chart still spans all four.
    cycle = do_cycle(team, manager, 1, [(5, 3)])
    assert (cycle.do_end - cycle.do_start).days + 1 == 28
    response = login(manager).get(
        reverse("kaizen:cycle_detail", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    )
    chart = response.context["chart"]
    for layout in chart.layouts:
        step = layout.points[1].x - layout.points[0].x
        assert round(layout.do.width / step) == 4
        assert layout.do.x2 <= layout.plot_right
        ticks = [t.label for t in layout.x_ticks]
        assert ticks[-1] == f"{cycle.do_end - dt.timedelta(days=6):%-d %b}"  # the last Do week
    html = response.content.decode()
    assert "Each point: one week, as the Check judges it." in html
    assert "xmr-scroll" not in html and "min-width: 560px" not in html
    assert html.count('data-frame="') == 3
