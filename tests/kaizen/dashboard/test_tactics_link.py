"""The verdict card links the tactics page when the bottleneck sits in the marketing or the
qualifying station, where the prospects' response is the constraint; not elsewhere."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from funnel.models import BottleneckStatus, Stage

pytestmark = pytest.mark.django_db


def _card(team, station: str) -> str:
    stage = Stage.objects.filter(team=team, station=station).first()
    status = BottleneckStatus(
        team=team,
        verdict="bottleneck",
        stage=stage,
        station=station,
        gap_per_week=0.6,
        figures={},
        watermark=0,
        computed_at=timezone.now(),
    )
    return render_to_string("dashboard/_verdict.html", {"team": team, "status": status})


@pytest.mark.parametrize("station", ["marketing", "qualifying"])
def test_a_bottleneck_in_marketing_or_qualifying_links_the_tactics(team, station):
    html = _card(team, station)
    assert 'id="verdict-tactics"' in html
    assert reverse("tactics_team", args=[team.slug]) in html


@pytest.mark.parametrize("station", ["market", "selling", "servicing"])
def test_a_bottleneck_elsewhere_does_not(team, station):
    assert 'id="verdict-tactics"' not in _card(team, station)
