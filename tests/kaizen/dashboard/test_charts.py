"""The team dashboard's charts say what a point is and fit any width: no scroll boxes."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_chart_says_what_its_point_is_and_why(login, loaded, manager):
    response = login(manager).get(reverse("team_dashboard", args=["north"]))
    html = response.content.decode()
    figures = html.split('<figure class="xmr card"')[1:]
    assert len(figures) == 3 and all("Each point:" in f for f in figures)
    conversion = next(c for c in response.context["charts"] if c.key == "conversion")
    note = conversion.notes[0]
    k = conversion.x_label.split()[0]
    if k == "Week":
        assert note.startswith("Each point: one week, a typical week has")
    else:
        assert note.startswith(f"Each point: {k} weeks pooled, because a typical week has only")
        assert "a rate needs at least 10" in note
    assert "xmr-scroll" not in html and "vsm-scroll" not in html
    assert "Bottleneck: Qualified ↓" in html  # the phone's jump to the bottleneck stage
