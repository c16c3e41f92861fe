"""The top bar and the team menu: each role sees exactly the team pages it may open, every
link it sees answers 200, and every page it does not see answers 403 (issue 16, item 1)."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from funnel.models import Role
from funnel.services import membership_add

pytestmark = pytest.mark.django_db


class _Menu(HTMLParser):
    """The team menu's links: (key, label, href, current)."""

    def __init__(self):
        super().__init__()
        self.items: list[tuple[str, str, str, bool]] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "data-menu-item" in attrs:
            self._open = attrs

    def handle_data(self, data):
        if self._open is not None:
            a = self._open
            self.items.append(
                (a["data-menu-item"], data, a["href"], a.get("aria-current") == "page")
            )
            self._open = None


def menu(body: str) -> list[tuple[str, str, str, bool]]:
    parser = _Menu()
    parser.feed(body)
    return parser.items


EVERY_ROLE = ["Dashboard", "Funnel", "Deals", "Kaizen board", "Definitions"]
EXPECTED = {
    "rep": [*EVERY_ROLE, "Tactics", "Pipeline clean-up"],
    "executive": [*EVERY_ROLE, "Winnable", "Tactics", "Pipeline clean-up"],
    "manager": [*EVERY_ROLE, "Winnable", "Tactics", "Pipeline clean-up", "Imports", "Settings"],
}
# The team pages a role does not see in its menu, and the status they answer it.
REFUSED = {
    "rep": ["winnable_team", "import_list", "team_settings"],
    "executive": ["import_list", "team_settings"],
    "manager": [],
}


@pytest.mark.parametrize("role", ["rep", "executive", "manager"])
def test_the_team_menu_lists_exactly_what_the_role_may_open(role, request, login, team):
    client = login(request.getfixturevalue(role))
    response = client.get(reverse("team_overview", args=[team.slug]))
    assert response.status_code == 200
    items = menu(response.content.decode())
    assert [label for _, label, _, _ in items] == EXPECTED[role]
    for _, label, href, _ in items:
        assert client.get(href).status_code == 200, (role, label, href)
    for name in REFUSED[role]:
        assert client.get(reverse(name, args=[team.slug])).status_code == 403, (role, name)


def test_the_menu_marks_the_page_it_is_on(login, manager, team):
    client = login(manager)
    pages = {
        reverse("team_overview", args=[team.slug]): "funnel",
        reverse("deal_list", args=[team.slug]): "deals",
        reverse("kaizen:cycle_board", args=[team.slug]): "kaizen",
        reverse("definitions:stale_rule", args=[team.slug]): "definitions",
        reverse("team_members", args=[team.slug]): "settings",
        reverse("stage_editor", args=[team.slug]): "settings",
        reverse("team_settings", args=[team.slug]): "settings",
        reverse("tactics_team", args=[team.slug]): "tactics",
    }
    for url, key in pages.items():
        items = menu(client.get(url).content.decode())
        current = [k for k, _, _, is_current in items if is_current]
        assert current == [key], url


def test_every_team_page_has_one_menu_and_one_breadcrumb_trail(login, manager, team):
    client = login(manager)
    for name in ["team_dashboard", "team_overview", "deal_list", "import_list", "team_settings"]:
        body = client.get(reverse(name, args=[team.slug])).content.decode()
        assert body.count('class="teambar"') == 1, name
        assert body.count('aria-label="Breadcrumb"') == 1, name
        trail = re.search(r'aria-label="Breadcrumb">(.*?)</nav>', body, re.S).group(1)
        assert "Home" in trail and team.name in trail, name


def test_a_page_outside_a_team_has_no_team_menu(login, manager):
    body = login(manager).get(reverse("company_dashboard")).content.decode()
    assert 'class="teambar"' not in body
    assert 'aria-label="Breadcrumb"' in body


def test_my_teams_lists_the_users_teams_and_company_shows_for_executives(
    login, rep, executive, team, other_team
):
    body = login(rep).get(reverse("home")).content.decode()
    drop = re.search(r'class="nav-drop-panel">(.*?)</ul>', body, re.S).group(1)
    assert "North Region" in drop and "South Region" not in drop
    assert f'href="{reverse("company_dashboard")}"' not in body  # one team: the menu has it

    body = login(executive).get(reverse("home")).content.decode()
    drop = re.search(r'class="nav-drop-panel">(.*?)</ul>', body, re.S).group(1)
    assert "North Region" in drop and "South Region" in drop
    assert f'href="{reverse("company_dashboard")}"' in body


def test_a_rep_gets_a_link_to_the_team_dashboard(login, rep, team):
    body = login(rep).get(reverse("home")).content.decode()
    assert f'href="{reverse("team_dashboard", args=[team.slug])}"' in body


@pytest.fixture
def administrator(db):
    return get_user_model().objects.create_user(
        username="ada@example.com", email="ada@example.com", is_superuser=True, is_staff=True
    )


def test_an_administrator_sees_all_teams_on_home_and_only_members_in_their_menu(
    login, administrator, team, other_team
):
    client = login(administrator)
    body = client.get(reverse("home")).content.decode()
    section = re.search(r'id="all-teams".*?</section>', body, re.S).group(0)
    for t in (team, other_team):
        assert reverse("team_members", args=[t.slug]) in section
    response = client.get(reverse("team_members", args=[team.slug]))
    assert response.status_code == 200
    assert [label for _, label, _, _ in menu(response.content.decode())] == ["Members"]


def test_an_administrator_on_the_team_gets_the_menu_of_their_role(login, administrator, team):
    membership_add(team=team, email=administrator.email, role=Role.MANAGER)
    body = login(administrator).get(reverse("team_members", args=[team.slug])).content.decode()
    assert [label for _, label, _, _ in menu(body)] == EXPECTED["manager"]


def test_the_settings_page_links_the_api_docs(login, manager, team):
    body = login(manager).get(reverse("team_settings", args=[team.slug])).content.decode()
    assert 'href="/api/v1/docs"' in body
