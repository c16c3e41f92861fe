"""A manager's tactic settings: cost per touch, the response window (a new rule version, the
old ones kept), in use or not. Reps and executives 403, outsiders 404."""

from decimal import Decimal

import pytest
from django.urls import reverse

from funnel.models import Tactic
from funnel.touches.services import tactics_defaults_for_teams_without

pytestmark = pytest.mark.django_db


def url(team, slug="call"):
    return reverse("tactic_edit", args=[team.slug, slug])


FORM = {"name": "Cold call", "channel": "phone", "cost_per_touch": "3.50", "window_days": "7"}


def test_a_manager_changes_cost_and_window(login, manager, team):
    client = login(manager)
    assert client.get(url(team)).status_code == 200
    response = client.post(url(team), {**FORM, "is_active": "on"})
    assert response.status_code == 302
    call = Tactic.objects.get(team=team, slug="call")
    assert (call.name, call.cost_per_touch, call.is_active) == ("Cold call", Decimal("3.50"), True)
    rules = list(call.response_rules.order_by("number").values_list("number", "window_days"))
    assert rules == [(1, 14), (2, 7)]
    assert call.response_rules.get(number=2).author == manager
    client.post(url(team), {**FORM, "is_active": "on"})  # same window: no new version
    assert call.response_rules.count() == 2
    body = client.get(url(team)).content.decode()
    assert "Version 2: a stage move within 7 days counts" in body


def test_an_empty_window_means_recorded_answers_only_and_retiring_hides_the_button(
    login, manager, rep, team, rep_deal
):
    login(manager).post(url(team), {**FORM, "window_days": ""})
    call = Tactic.objects.get(team=team, slug="call")
    assert call.response_rules.order_by("-number").first().window_days is None
    assert call.is_active is False
    page = login(rep).get(reverse("deal_detail", args=[team.slug, rep_deal.id])).content.decode()
    assert 'value="call"' not in page


def test_bad_input_is_named(login, manager, team):
    response = login(manager).post(url(team), {**FORM, "cost_per_touch": "-1", "window_days": "0"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "greater than or equal to 0" in body and "greater than or equal to 1" in body


@pytest.mark.parametrize("who, status", [("rep", 403), ("executive", 403), ("outsider", 404)])
def test_only_managers_may(request, login, team, who, status):
    client = login(request.getfixturevalue(who))
    assert client.get(url(team)).status_code == status
    assert client.post(url(team), FORM).status_code == status
    assert Tactic.objects.get(team=team, slug="call").name == "Call"


def test_an_unknown_tactic_is_404(login, manager, team):
    assert login(manager).get(url(team, "pigeon")).status_code == 404


def test_the_tactics_page_links_the_settings_for_managers_only(login, manager, rep, team):
    link = url(team)
    assert link in login(manager).get(reverse("tactics_team", args=[team.slug])).content.decode()
    assert link not in login(rep).get(reverse("tactics_team", args=[team.slug])).content.decode()


def test_teams_made_before_touches_get_the_default_tactics_after_migrate(team, other_team):
    Tactic.objects.filter(team=team).delete()  # as a team made before the touches migration
    Tactic.objects.filter(team=other_team).exclude(slug="call").delete()  # the team's choice

    assert tactics_defaults_for_teams_without() == [team.slug]
    assert sorted(Tactic.objects.filter(team=team).values_list("slug", flat=True)) == [
        "call",
        "email",
        "linkedin",
        "meeting",
    ]
    assert list(Tactic.objects.filter(team=other_team).values_list("slug", flat=True)) == ["call"]
    assert tactics_defaults_for_teams_without() == []  # once
