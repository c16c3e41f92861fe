import datetime as dt
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from funnel.models import Deal, Role
from funnel.services import membership_add, team_create
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db

URL = reverse("home")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href")


def page_links(body: str) -> list[str]:
    parser = _Links()
    parser.feed(body)
    return [h for h in parser.hrefs if not h.startswith("#")]


@pytest.fixture
def north_deals(team, rep, manager):
    """Rep owns two open deals, the manager one; one won and one lost 10 days ago; one won
    200 days ago, which the 90-day figures must leave out."""
    order = ["inquiry", "engaged", "qualified"]
    deal_with_history(team=team, external_id="A", stages=order[:1], owner=rep)
    deal_with_history(team=team, external_id="B", stages=order[:3], owner=rep)
    deal_with_history(team=team, external_id="C", stages=order[:2], owner=manager)
    deal_with_history(
        team=team, external_id="D", stages=order, owner=rep, outcome="won", closed_days_ago=10
    )
    deal_with_history(
        team=team, external_id="E", stages=order, owner=rep, outcome="lost", closed_days_ago=10
    )
    deal_with_history(
        team=team, external_id="F", stages=order, owner=rep, outcome="won", closed_days_ago=200
    )


def figures_of(response, slug):
    return next(f for a, f in response.context["teams"] if a.team.slug == slug)


def test_rep_sees_their_team_with_their_own_figures(login, rep, team, north_deals):
    response = login(rep).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Welcome back" in body and "North Region" in body
    assert "<dt>Your open deals</dt><dd>2</dd>" in body
    assert "<dt>Team open</dt><dd>3</dd>" in body
    f = figures_of(response, "north")
    assert (f.open_deals, f.my_open_deals, f.won_recent, f.lost_recent) == (3, 2, 1, 1)
    assert "Record stage changes and observations" in body
    # Managers' work is not offered to a rep.
    assert "Import CRM data" not in body and "Definitions and stage targets" not in body


def test_rep_figures_by_station_add_up_to_open_deals(login, rep, team, north_deals):
    f = figures_of(login(rep).get(URL), "north")
    by_station = {station: n for station, _, n in f.open_by_station}
    # A is in inquiry (market), C in engaged (marketing), B in qualified (qualifying).
    assert by_station == {
        "market": 1,
        "marketing": 1,
        "qualifying": 1,
        "selling": 0,
        "servicing": 0,
    }


def test_manager_sees_what_managers_do(login, manager, team):
    body = login(manager).get(URL).content.decode()
    assert "Operational definitions" in body and "Stage targets" in body
    assert "PDCA cycles" in body and "Import CRM data" in body
    assert "The bottleneck dashboard" in body and "What makes deals winnable" in body
    assert "Your open deals" not in body


def test_every_link_on_home_leads_to_a_page_that_exists(login, manager, rep, executive, team):
    for user in (rep, manager, executive):
        client = login(user)
        for href in page_links(client.get(URL).content.decode()):
            path = href.split("#")[0]
            resolve(path)  # raises Resolver404 for a page that does not exist
            assert client.get(path).status_code == 200, (user, href)


def link_names(body: str) -> set[str]:
    return {resolve(h.split("#")[0]).url_name for h in page_links(body)}


def test_rep_is_linked_to_their_deals(login, rep, team):
    body = login(rep).get(URL).content.decode()
    assert reverse("deal_list", args=[team.slug]) in body
    assert "import_list" not in link_names(body)


def test_manager_is_linked_to_deals_and_imports(login, manager, team):
    body = login(manager).get(URL).content.decode()
    assert {"team_overview", "deal_list", "import_list"} <= link_names(body)


def test_executive_is_linked_to_the_company_dashboard_and_analysis(login, executive, team):
    body = login(executive).get(URL).content.decode()
    assert "Bottleneck dashboard across all teams" in body and "Not yet available" not in body
    names = link_names(body)
    assert {"company_dashboard", "winnable_company", "team_dashboard"} <= names
    # Nothing that changes data is offered to an executive.
    assert not names & {"import_list", "stage_targets", "deal_list"}


def test_executive_sees_every_team_including_ones_they_are_not_in(
    login, executive, team, other_team
):
    response = login(executive).get(URL)
    body = response.content.decode()
    assert [a.team.slug for a, _ in response.context["teams"]] == ["north", "south"]
    assert "North Region" in body and "South Region" in body
    assert "Executive view across 2 teams" in body
    assert "Bottleneck dashboard across all teams" in body
    assert "Outcomes of PDCA cycles" in body


def test_executive_totals_sum_the_teams(login, executive, team, other_team, north_deals):
    deal_with_history(
        team=other_team, external_id="S1", stages=["inquiry"], outcome="won", closed_days_ago=3
    )
    deal_with_history(team=other_team, external_id="S2", stages=["inquiry"])
    response = login(executive).get(URL)
    totals = response.context["totals"]
    assert (totals.open_deals, totals.won_recent, totals.lost_recent) == (4, 2, 1)


def test_outsider_does_not_see_other_teams(login, outsider, team, other_team):
    body = login(outsider).get(URL).content.decode()
    assert "South Region" in body
    assert "North Region" not in body


def test_user_without_a_team_gets_the_empty_state(login, db):
    user = get_user_model().objects.create_user("nobody@example.com", "nobody@example.com")
    body = login(user).get(URL).content.decode()
    assert "You are not on a team yet" in body


def test_wrong_method_is_405(login, rep):
    assert login(rep).post(URL).status_code == 405


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_query_count_is_bounded(
    login, executive, team, other_team, north_deals, django_assert_max_num_queries
):
    client = login(executive)
    # 9: the home page also reads each team's newest event, and the top bar the user's teams
    with django_assert_max_num_queries(9):
        assert client.get(URL).status_code == 200


def test_home_query_count_does_not_grow_with_teams(login, executive, team, north_deals):
    client = login(executive)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for i in range(4):
        extra = team_create(slug=f"extra-{i}", name=f"Extra {i}")
        membership_add(team=extra, email=f"m{i}@example.com", role=Role.MANAGER)
        deal_with_history(team=extra, external_id=f"X{i}", stages=["inquiry"])
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert len(response.context["teams"]) == 5
    assert len(many) == len(few)


def test_a_team_whose_data_stopped_counts_its_last_90_days(login, manager, team):
    # An imported history that ended in 2012: closes 10 and 100 days before its newest event.
    newest = dt.datetime(2012, 2, 29, 12, tzinfo=dt.UTC)
    for n, (days, status) in enumerate([(0, "won"), (10, "won"), (100, "lost"), (30, "lost")]):
        at = newest - dt.timedelta(days=days)
        Deal.objects.create(
            team=team, external_id=f"H-{n}", status=status, closed_at=at, last_event_at=at
        )
    html = login(manager).get(URL).content.decode()
    assert "The 90 days to 29 Feb 2012, where its data stops." in html
    card = html[html.index('id="team-north"') :]
    won = card[card.index("Won · 90 d") :]
    assert "<dd>2</dd>" in won[:60]  # the closes at 0 and 10 days; the one at 100 is out
    lost = card[card.index("Lost · 90 d") :]
    assert "<dd>1</dd>" in lost[:60]
