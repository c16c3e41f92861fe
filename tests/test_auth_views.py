import pytest
from django.urls import reverse

from funnel.metrics.intervals import CONFIDENCE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
LOGOUT = reverse("logout")


def test_login_page_renders(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_login_with_the_right_password_lands_on_home(client, rep):
    response = client.post(LOGIN, {"username": rep.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).context["user"] == rep


def test_login_keeps_the_page_the_user_asked_for(client, rep, team):
    wanted = reverse("team_overview", args=[team.slug])
    response = client.post(LOGIN, {"username": rep.email, "password": PASSWORD, "next": wanted})
    assert response["Location"] == wanted


def test_login_with_a_wrong_password_says_so_and_keeps_the_email(client, rep):
    response = client.post(LOGIN, {"username": rep.email, "password": "wrong"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="error-summary"' in body
    assert "e-mail and password do not match an account" in body
    assert f'value="{rep.email}"' in body
    assert not response.context["user"].is_authenticated


def test_logout_is_post_only(login, rep):
    client = login(rep)
    assert client.get(LOGOUT).status_code == 405
    assert client.get(reverse("home")).status_code == 200  # still logged in


def test_logout_by_post_ends_the_session(login, rep):
    client = login(rep)
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_every_page_states_the_one_confidence_level(client):
    # The footer's level is the one every interval is computed at (issue 14, item 8).
    html = client.get(LOGIN).content.decode()
    assert f"its {CONFIDENCE * 100:g} % interval" in html and CONFIDENCE == 0.95
