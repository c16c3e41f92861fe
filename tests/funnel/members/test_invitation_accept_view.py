"""/invitations/<token>/: set a name and password and join, or join as the logged-in invitee;
expired, used, replaced and unknown links get a clear page, never a 500."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from funnel.members.services import invitation_create
from funnel.models import Invitation, Membership, Role
from funnel.services import membership_add
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "plum orchard 4 winter"


def invite(team, manager, email="nina.new@example.com", role=Role.REP):
    sent = invitation_create(
        team=team, email=email, role=role, invited_by=manager, site_url="http://testserver/"
    )
    return sent.link.removeprefix("http://testserver")


def accept(client, url, name="Nina New", password=NEW_PASSWORD, again=None):
    return client.post(url, {"name": name, "password1": password, "password2": again or password})


def test_a_new_person_sets_a_password_joins_and_is_logged_in(client, team, manager):
    url = invite(team, manager)
    assert client.get(url).status_code == 200
    response = accept(client, url)
    assert response.status_code == 302
    assert response["Location"] == reverse("team_overview", args=[team.slug])
    user = get_user_model().objects.get(username="nina.new@example.com")
    assert (user.first_name, user.last_name, user.email) == ("Nina", "New", user.username)
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user, team=team).role == Role.REP
    assert Invitation.objects.get(team=team).accepted_at is not None
    # Logged in: the team page opens.
    assert client.get(reverse("team_overview", args=[team.slug])).status_code == 200


@pytest.mark.parametrize(
    ("password", "again", "error"),
    [
        ("short1", None, "too short"),
        ("12345678901", None, "entirely numeric"),
        ("password123", None, "too common"),
        (NEW_PASSWORD, "something else 9", "differ"),
    ],
)
def test_the_password_validators_apply_and_nothing_changes(
    client, team, manager, password, again, error
):
    url = invite(team, manager)
    response = accept(client, url, password=password, again=again)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not get_user_model().objects.filter(username="nina.new@example.com").exists()
    assert Invitation.objects.get(team=team).accepted_at is None


def test_an_account_without_a_password_is_completed(client, team, other_team, manager):
    # add_member made the account (no password yet) for another team.
    membership_add(team=other_team, email="nina.new@example.com", role=Role.REP)
    url = invite(team, manager, role=Role.MANAGER)
    accept(client, url)
    user = get_user_model().objects.get(username="nina.new@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user, team=team).role == Role.MANAGER


def test_an_existing_account_logs_in_first_then_joins(client, login, team, outsider, manager):
    url = invite(team, manager, email=outsider.email, role=Role.EXECUTIVE)
    response = client.get(url)
    assert response.status_code == 200
    assert "Log in as otto.outsider@example.com" in response.content.decode()
    # Posting a password for an account that has one changes nothing.
    accept(client, url)
    assert get_user_model().objects.get(pk=outsider.pk).check_password(PASSWORD)
    assert not Membership.objects.filter(user=outsider, team=team).exists()
    # Logged in as the invitee, one click joins.
    client = login(outsider)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert Membership.objects.get(user=outsider, team=team).role == Role.EXECUTIVE


def test_another_logged_in_user_is_refused(login, team, manager, rep):
    url = invite(team, manager, email="nina.new@example.com")
    client = login(rep)
    response = client.get(url)
    assert response.status_code == 403
    assert "This invitation is for nina.new@example.com" in response.content.decode()
    assert client.post(url).status_code == 403
    assert Membership.objects.get(user=rep, team=team).role == Role.REP
    assert Invitation.objects.get(team=team).accepted_at is None


def test_an_expired_link_is_410(client, team, manager):
    url = invite(team, manager)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    for response in (client.get(url), accept(client, url)):
        assert response.status_code == 410
        assert "expired" in response.content.decode()
    assert not get_user_model().objects.filter(username="nina.new@example.com").exists()


def test_a_used_link_is_410(client, team, manager):
    url = invite(team, manager)
    accept(client, url)
    client.logout()
    response = accept(client, url, password="another good password 7")
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    user = get_user_model().objects.get(username="nina.new@example.com")
    assert user.check_password(NEW_PASSWORD)


def test_unknown_and_replaced_links_are_404(client, team, manager):
    assert client.get("/invitations/no-such-token/").status_code == 404
    first = invite(team, manager)
    second = invite(team, manager, role=Role.MANAGER)  # the re-invitation replaces the first
    response = client.get(first)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    accept(client, second)
    assert Membership.objects.get(user__username="nina.new@example.com").role == Role.MANAGER


def test_an_invitation_joins_only_its_own_team(client, team, other_team, manager):
    url = invite(team, manager)
    accept(client, url)
    user = get_user_model().objects.get(username="nina.new@example.com")
    assert list(Membership.objects.filter(user=user).values_list("team__slug", flat=True)) == [
        team.slug
    ]


def test_wrong_method_is_405(client, team, manager):
    assert client.put(invite(team, manager)).status_code == 405
