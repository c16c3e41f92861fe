"""Styled error pages in the app's frame: a 403 says what the role may do instead and the way
back, a 404 keeps the menu, a 500 renders without the database (issue 16, item 5)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_debug(settings):
    settings.DEBUG = False


@pytest.mark.parametrize(
    ("role", "url_name", "says"),
    [
        ("executive", "team_settings", "As an executive you can read every team"),
        ("executive", "import_list", "As an executive you can read every team"),
        ("rep", "winnable_team", "As a rep you record stage changes"),
        ("rep", "stage_editor", "As a rep you record stage changes"),
    ],
)
def test_a_refused_edit_page_explains_the_role_and_links_back(
    role, url_name, says, request, login, team
):
    response = login(request.getfixturevalue(role)).get(reverse(url_name, args=[team.slug]))
    assert response.status_code == 403
    body = response.content.decode()
    assert says in body
    assert "403" in body and "Sales Kaizen" in body  # in the app's frame, not a bare page
    assert f'href="{reverse("team_dashboard", args=[team.slug])}"' in body  # the way back
    assert 'class="teambar"' in body  # the team menu of what the role may open
    assert "Forbidden" not in body


def test_a_refused_post_renders_the_styled_page_too(login, executive, team):
    response = login(executive).post(
        reverse("team_settings", args=[team.slug]), {"name": "X", "currency": "EUR"}
    )
    assert response.status_code == 403
    assert "As an executive" in response.content.decode()


def test_a_page_for_administrators_only_says_why(login, manager):
    response = login(manager).get(reverse("team_new"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Only an administrator can create teams." in body
    assert f'href="{reverse("home")}"' in body


def test_the_refusal_reads_with_the_right_article(login, executive, team):
    body = login(executive).get(reverse("team_settings", args=[team.slug])).content.decode()
    assert "An executive cannot do that here." in body
    assert "not open to an executive on North Region" in body


def test_not_found_is_styled_and_keeps_the_top_bar(login, rep, other_team):
    response = login(rep).get(reverse("team_overview", args=[other_team.slug]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is no page here" in body
    assert 'aria-label="Main"' in body and f'href="{reverse("home")}"' in body


def test_server_error_renders_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/teams/north/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert 'class="topbar"' in body and "Log out" not in body
