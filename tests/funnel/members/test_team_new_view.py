"""/teams/new/: administrators create teams; the creator manages it or invites a manager."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from funnel.default_stages import DEFAULT_STAGES
from funnel.models import Invitation, Membership, Role, Stage, Team

pytestmark = pytest.mark.django_db
URL = "/teams/new/"


def test_the_url_is_a_page_not_a_team():
    assert reverse("team_new") == URL


def test_administrator_sees_the_form(login, administrator):
    response = login(administrator).get(URL)
    assert response.status_code == 200
    assert b'name="slug"' in response.content


def test_administrator_creates_a_team_and_manages_it(login, administrator):
    response = login(administrator).post(URL, {"name": "West Region", "slug": "west"})
    assert response.status_code == 302
    assert response["Location"] == "/teams/west/members/"
    team = Team.objects.get(slug="west")
    assert team.name == "West Region"
    assert list(
        Stage.objects.filter(team=team).order_by("position").values_list("slug", flat=True)
    ) == [s.slug for s in DEFAULT_STAGES]
    assert Membership.objects.get(team=team).user == administrator
    assert Membership.objects.get(team=team).role == Role.MANAGER
    assert mail.outbox == []


def test_the_slug_is_made_from_the_name_when_left_empty(login, administrator):
    login(administrator).post(URL, {"name": "Nordics & Baltics Ltd", "slug": ""})
    assert Team.objects.filter(slug="nordics-baltics-ltd").exists()


def test_another_manager_is_invited_and_the_creator_stays_out(
    login, administrator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(administrator).post(
            URL, {"name": "West", "slug": "west", "manager_email": "Mia.Manager@Example.com"}
        )
    team = Team.objects.get(slug="west")
    assert not Membership.objects.filter(team=team).exists()
    invitation = Invitation.objects.get(team=team)
    assert (invitation.email, invitation.role) == ("mia.manager@example.com", Role.MANAGER)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["mia.manager@example.com"]
    assert "http://testserver/invitations/" in mail.outbox[0].body


def test_a_staff_user_with_the_add_team_permission_is_an_administrator(login, rep):
    rep.user_permissions.add(Permission.objects.get(codename="add_team"))
    rep = get_user_model().objects.get(pk=rep.pk)  # permissions are cached on the instance
    assert login(rep).post(URL, {"name": "East", "slug": "east"}).status_code == 403
    rep.is_staff = True
    rep.save()
    assert login(rep).post(URL, {"name": "East", "slug": "east"}).status_code == 302


@pytest.mark.parametrize("who", ["manager", "executive", "rep", "outsider"])
def test_other_users_get_403(login, request, who):
    user = request.getfixturevalue(who)
    assert login(user).get(URL).status_code == 403
    assert login(user).post(URL, {"name": "East", "slug": "east"}).status_code == 403
    assert not Team.objects.filter(slug="east").exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        ("west region", "may hold only letters"),
        ("new", "is reserved"),
        ("north", "already exists"),  # the fixture team
    ],
)
def test_a_bad_or_taken_slug_is_a_form_error_and_creates_nothing(
    login, administrator, team, slug, error
):
    before = Team.objects.count()
    response = login(administrator).post(URL, {"name": "West", "slug": slug})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Team.objects.count() == before


def test_an_empty_name_is_a_form_error(login, administrator):
    response = login(administrator).post(URL, {"name": "  ", "slug": "x"})
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    assert not Team.objects.filter(slug="x").exists()


def test_wrong_method_is_405(login, administrator):
    assert login(administrator).put(URL).status_code == 405


def test_home_offers_new_team_to_administrators_only(login, administrator, manager):
    assert b'href="/teams/new/"' in login(administrator).get("/").content
    assert b'href="/teams/new/"' not in login(manager).get("/").content
