"""The analysis and departments pages: access, filters, the htmx fragment, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.models import Characteristic, Deal, DealStatus
from tests.funnel.winnable.conftest import counts_build

ROWS = [
    ("decision-maker-reached", "yes", 30, 10),
    ("decision-maker-reached", "no", 15, 45),
    ("prospect-department", "Finance", 14, 16),
    ("prospect-department", "IT", 8, 22),
]


@pytest.fixture
def analysed(team):
    counts_build(team, ROWS)
    return team


def _url(name, team):
    return reverse(name, args=[team.slug])


@pytest.mark.parametrize("name", ["winnable_team", "departments_team"])
def test_manager_sees_the_team_analysis(login, manager, analysed, name):
    response = login(manager).get(_url(name, analysed), {"period": "all"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "forest-dot" in body
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_analysis_page_shows_figures_and_verdicts(login, manager, analysed):
    body = login(manager).get(_url("winnable_team", analysed), {"period": "all"}).content.decode()
    assert "Decision maker reached" in body and "more winnable" in body
    assert "Deals with decision maker reached win 75 % of the time" in body  # 30 of 40
    assert "Won 30 of 40 closed deals with this value (75.0 %)" in body


@pytest.mark.parametrize("name", ["winnable_team", "departments_team"])
def test_access_matrix(client, login, team, rep, manager, executive, outsider, name):
    url = _url(name, team)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert reverse("login") in client.get(url)["Location"]
    assert login(rep).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404
    assert login(executive).get(url).status_code == 200
    assert login(manager).get(url).status_code == 200
    assert login(manager).post(url).status_code == 405


def test_unknown_team_is_404_like_a_foreign_one(login, manager):
    assert login(manager).get("/teams/nope/winnable/").status_code == 404


@pytest.mark.parametrize("name", ["winnable_company", "departments_company"])
def test_company_view_is_for_executives(
    client, login, team, other_team, rep, manager, executive, name
):
    url = reverse(name)
    assert client.get(url).status_code == 302
    assert login(rep).get(url).status_code == 403
    assert login(manager).get(url).status_code == 403
    response = login(executive).get(url)
    assert response.status_code == 200
    assert "All teams" in response.content.decode()
    assert login(executive).post(url).status_code == 405


def test_executive_filters_by_team(login, executive, analysed, other_team):
    counts_build(other_team, [("decision-maker-reached", "yes", 1, 1)])
    client = login(executive)
    everything = client.get(reverse("winnable_company"), {"period": "all"}).context["analysis"]
    south = client.get(reverse("winnable_company"), {"period": "all", "team": "south"})
    assert everything.overall.n == 160 + 2
    assert south.context["analysis"].overall.n == 2
    assert south.context["team"].slug == "south"


def test_htmx_filter_returns_the_results_fragment(login, manager, analysed):
    response = login(manager).get(
        _url("winnable_team", analysed), {"period": "3"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body and "forest-dot" in body


def test_empty_period_points_to_all_time(login, manager, analysed):
    from funnel.models import WinnableCount

    WinnableCount.objects.filter(team=analysed).update(month="2001-01-01")
    body = login(manager).get(_url("winnable_team", analysed), {"period": "3"}).content.decode()
    assert "No deals closed" in body and "All data" in body


def test_inactive_characteristics_are_left_out(login, manager, analysed):
    Characteristic.objects.filter(team=analysed, slug="decision-maker-reached").update(
        is_active=False
    )
    body = login(manager).get(_url("winnable_team", analysed), {"period": "all"}).content.decode()
    assert "Decision maker reached" not in body and "Prospect department" in body


@pytest.mark.parametrize("name", ["winnable_team", "departments_team"])
def test_query_count_does_not_grow_with_the_data(login, manager, team, name):
    client = login(manager)
    counts_build(team, ROWS[:2])
    with CaptureQueriesContext(connection) as small:
        client.get(_url(name, team), {"period": "all"})
    counts_build(team, ROWS)
    with CaptureQueriesContext(connection) as large:
        client.get(_url(name, team), {"period": "all"})
    # 9: the period default reads the data horizon, the analysis page the stale rule's cut and
    # its count (one query however many teams), and the top bar the user's teams.
    assert len(large) == len(small) <= 9


def test_the_teams_minimum_difference_is_applied_and_stated(login, manager, analysed):
    body = login(manager).get(_url("winnable_team", analysed), {"period": "all"}).content.decode()
    assert "a gap of at least 5 points" in body and "more winnable" in body
    # The decision maker rows differ by 50 points: below a 60-point minimum they are too small.
    analysed.winnable_min_difference = "0.60"
    analysed.save(update_fields=["winnable_min_difference"])
    body = login(manager).get(_url("winnable_team", analysed), {"period": "all"}).content.decode()
    assert "a gap of at least 60 points" in body
    assert "too small to matter</span>" in body and "more winnable</span>" not in body


def test_the_page_states_the_closed_deals_used_and_the_open_deals_left_out(
    login, manager, analysed
):
    for n in range(3):
        Deal.objects.create(team=analysed, external_id=f"OPEN-{n}", status=DealStatus.OPEN)
    body = login(manager).get(_url("winnable_team", analysed), {"period": "all"}).content.decode()
    closed = sum(won + lost for _, _, won, lost in ROWS)  # one deal per row of ROWS' counts
    assert f"Based on {closed} deals closed in this period; 3 open deals are left out" in body
