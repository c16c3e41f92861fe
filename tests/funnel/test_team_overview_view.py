import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from funnel.models import DefinitionVersion, Role
from funnel.services import membership_add
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db


def url(team):
    return reverse("team_overview", args=[team.slug])


def test_rep_sees_the_stages_in_funnel_order_with_stations(login, rep, team):
    response = login(rep).get(url(team))
    assert response.status_code == 200
    body = response.content.decode()
    stage_names = list(team.stages.order_by("position").values_list("name", flat=True))
    headings = re.findall(r"<h3>([^<]+)</h3>", body)
    assert headings == stage_names
    assert 'class="station-badge station-market">Market<' in body
    assert 'class="station-badge station-selling">Selling<' in body


def test_the_current_definition_version_is_shown_not_an_older_one(login, rep, team):
    stage = team.stages.get(slug="qualified")
    old = stage.definition.versions.get(number=1)
    DefinitionVersion.objects.create(
        definition=stage.definition,
        number=2,
        meaning="The buyer confirmed need, budget owner, time frame and a compelling event.",
        criteria=["A named compelling event."],
        effective_from=timezone.localdate(),
    )
    body = login(rep).get(url(team)).content.decode()
    assert "confirmed need, budget owner, time frame and a compelling event" in body
    assert old.meaning not in body
    assert "<dd>v2</dd>" in body


def test_open_deals_are_counted_per_stage(login, rep, team):
    deal_with_history(team=team, external_id="A", stages=["inquiry", "engaged"], owner=rep)
    deal_with_history(team=team, external_id="B", stages=["inquiry", "engaged"], owner=rep)
    deal_with_history(team=team, external_id="C", stages=["inquiry"], outcome="lost")
    response = login(rep).get(url(team))
    open_by_slug = {s.slug: s.open_deals for s in response.context["stages"]}
    assert open_by_slug["engaged"] == 2
    assert open_by_slug["inquiry"] == 0  # C is lost: not open in inquiry any more
    assert "<strong>2</strong> open deals here" in response.content.decode()


def test_targets_are_shown_as_percent_and_days(login, rep, team):
    stage = team.stages.get(slug="qualified")
    stage.target_conversion = "0.425"
    stage.target_days = 12
    stage.save()
    body = login(rep).get(url(team)).content.decode()
    assert "<strong>42.5 %</strong>" in body
    assert "<strong>12 days</strong>" in body


def test_members_are_listed_by_role(login, rep, manager, executive, team):
    response = login(rep).get(url(team))
    groups = {role: [m.user.email for m in ms] for role, ms in response.context["members_by_role"]}
    assert groups == {
        Role.MANAGER: [manager.email],
        Role.REP: [rep.email],
        Role.EXECUTIVE: [executive.email],
    }
    assert manager.email in response.content.decode()


def test_rep_and_executive_get_no_edit_links(login, rep, executive, team):
    for user in (rep, executive):
        body = login(user).get(url(team)).content.decode()
        assert "Edit targets" not in body
        assert "/targets/" not in body


def test_manager_gets_an_edit_link_per_stage(login, manager, team):
    body = login(manager).get(url(team)).content.decode()
    for slug in team.stages.values_list("slug", flat=True):
        assert reverse("stage_targets", args=[team.slug, slug]) in body


def test_executive_sees_a_team_they_are_not_a_member_of(login, executive, other_team):
    response = login(executive).get(url(other_team))
    assert response.status_code == 200
    assert "South Region" in response.content.decode()
    assert response.context["access"].role == Role.EXECUTIVE


def test_outsider_gets_404_like_a_missing_team(login, outsider, team):
    client = login(outsider)
    assert client.get(url(team)).status_code == 404
    assert client.get(reverse("team_overview", args=["nope"])).status_code == 404


def test_wrong_method_is_405(login, manager, team):
    assert login(manager).post(url(team)).status_code == 405


def test_anonymous_is_sent_to_login(client, team):
    response = client.get(url(team))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_query_count_is_bounded(login, manager, team, django_assert_max_num_queries):
    deal_with_history(team=team, external_id="A", stages=["inquiry"], owner=manager)
    client = login(manager)
    # 10: the eighth reads the latest verdict, for the demonstrated targets; +1 the top bar's
    # list of the user's teams.
    with django_assert_max_num_queries(10):
        assert client.get(url(team)).status_code == 200


def test_query_count_does_not_grow_with_members_and_deals(login, manager, team):
    client = login(manager)
    with CaptureQueriesContext(connection) as few:
        client.get(url(team))
    for i in range(5):
        _, _, user = membership_add(team=team, email=f"r{i}@example.com", role=Role.REP)
        deal_with_history(team=team, external_id=f"D{i}", stages=["inquiry", "engaged"], owner=user)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url(team))
    assert sum(len(ms) for _, ms in response.context["members_by_role"]) == 6
    assert len(many) == len(few)
