from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.models import BottleneckStatus
from funnel.pipeline.run import team_recompute

pytestmark = pytest.mark.django_db


def url(team, slug="qualified"):
    return reverse("stage_targets", args=[team.slug, slug])


def test_manager_sets_targets(login, manager, team):
    response = login(manager).post(
        url(team), {"target_conversion_pct": "42.5", "target_days": "10"}
    )
    assert response.status_code == 302
    stage = team.stages.get(slug="qualified")
    assert stage.target_conversion == Decimal("0.425")
    assert stage.target_days == 10


def _by_slug(items):
    return {item["slug"]: item for item in items}


def test_new_targets_reach_the_teams_verdict(
    login, manager, team, django_capture_on_commit_callbacks
):
    now = timezone.now()
    events = funnel_events(funnel_generate(FunnelShape(weeks=30, arrivals_per_week=25), now=now))
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    before = team_recompute(team=team, now=now).figures
    assert (
        _by_slug(c for c in before["contenders"] if c["metric"] == "conversion")["qualified"][
            "target_source"
        ]
        == "capability"
    )
    assert _by_slug(before["flow"])["qualified"]["target_days"] == 21

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = login(manager).post(
            url(team), {"target_conversion_pct": "97.5", "target_days": "3"}
        )
    assert response.status_code == 302
    assert callbacks  # the recompute was asked for on commit, and ran

    after = BottleneckStatus.objects.filter(team=team).latest("computed_at", "id").figures
    qualified = _by_slug(c for c in after["contenders"] if c["metric"] == "conversion")["qualified"]
    assert (qualified["target"], qualified["target_source"]) == (0.975, "manager")
    assert _by_slug(after["flow"])["qualified"]["target_days"] == 3


def test_htmx_post_returns_the_form_fragment(login, manager, team):
    response = login(manager).post(
        url(team), {"target_conversion_pct": "30", "target_days": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<form")
    assert "Targets saved." in body
    assert "HX-Request" in response["Vary"]


def test_bad_input_says_which_field_and_keeps_the_old_value(login, manager, team):
    stage = team.stages.get(slug="qualified")
    stage.target_days = 21
    stage.save()
    response = login(manager).post(url(team), {"target_conversion_pct": "150", "target_days": "0"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "A target conversion is at most 100 %." in body
    assert "between 1 and 365" in body
    stage.refresh_from_db()
    assert stage.target_days == 21 and stage.target_conversion is None


def test_rep_gets_403(login, rep, team):
    assert login(rep).get(url(team)).status_code == 403


def test_executive_gets_403(login, executive, team):
    assert login(executive).post(url(team), {"target_days": "3"}).status_code == 403


def test_outsider_gets_404_like_a_missing_team(login, outsider, team):
    client = login(outsider)
    assert client.get(url(team)).status_code == 404
    assert client.get(reverse("stage_targets", args=["nope", "qualified"])).status_code == 404


def test_wrong_method_is_405(login, manager, team):
    assert login(manager).delete(url(team)).status_code == 405


def test_anonymous_is_sent_to_login(client, team):
    response = client.get(url(team))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
