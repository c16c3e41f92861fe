"""Every rate says how many open deals it left out or counted as stale: the team dashboard and
the winnable page state both counts under the team's stale rule."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Characteristic, Deal, Observation, StaleRule
from funnel.pipeline.run import team_rebuild

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_deals(team):
    """Open deals last touched 50, 40, 10 and 1 days ago, and one won deal."""
    now = timezone.now()
    plan = [("A", 50, "inquiry"), ("B", 40, "inquiry"), ("C", 10, "inquiry"), ("D", 1, "inquiry")]
    events = [
        EventIn(event_id=k, deal_external_id=k, occurred_at=now - dt.timedelta(days=ago), stage=s)
        for k, ago, s in plan
    ] + [
        EventIn(
            event_id="W0",
            deal_external_id="W",
            occurred_at=now - dt.timedelta(days=9),
            stage="inquiry",
        ),
        EventIn(
            event_id="W1",
            deal_external_id="W",
            occurred_at=now - dt.timedelta(days=8),
            outcome="won",
        ),
    ]
    stage_events_ingest(team=team, origin="api", events=events)
    # An observation on the won deal before it closed, so the winnable page has a row to show.
    Observation.objects.create(
        deal=Deal.objects.get(team=team, external_id="W"),
        characteristic=Characteristic.objects.get(team=team, slug="decision-maker-reached"),
        value="yes",
        observed_at=now - dt.timedelta(days=9),
    )
    return team


def test_rule_off_every_open_deal_is_left_out(login, rep, open_deals):
    team_rebuild(team=open_deals)
    content = login(rep).get(reverse("team_dashboard", args=[open_deals.slug])).content.decode()
    assert "4 open deals left out (still open)" in content
    assert "stale rule" not in content


def test_rule_on_the_dashboard_and_winnable_page_say_how_many_count_as_lost(
    login, rep, manager, open_deals
):
    team = open_deals
    StaleRule.objects.create(team=team, number=1, days=30, effective_from=dt.date(2020, 1, 1))
    team_rebuild(team=team)  # A and B (50 and 40 days quiet) are stale
    client = login(rep)
    content = client.get(reverse("team_dashboard", args=[team.slug])).content.decode()
    assert "2 open deals left out (still open) · 2 counted as lost by the" in content
    assert "30-day stale rule</a>" in content
    assert reverse("pipeline_5s", args=[team.slug]) in content
    manager_client = login(manager)  # the winnable analysis is the manager's
    winnable = manager_client.get(reverse("winnable_team", args=[team.slug])).content.decode()
    assert "4 open deals are left out until they close" in winnable
    assert "Of those, 2 are stale by the 30-day stale rule" in winnable
