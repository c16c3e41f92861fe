"""/teams/<slug>/members/: the manager's list of members, invitations, role changes, removals."""

import pytest
from django.core import mail
from django.urls import reverse

from funnel.models import Invitation, Membership, Role
from funnel.services import membership_add

pytestmark = pytest.mark.django_db


def page(team):
    return reverse("team_members", args=[team.slug])


def role_url(membership):
    return reverse("member_role", args=[membership.team.slug, membership.id])


def remove_url(membership):
    return reverse("member_remove", args=[membership.team.slug, membership.id])


def test_manager_sees_members_with_roles(login, manager, rep, executive, team):
    response = login(manager).get(page(team))
    assert response.status_code == 200
    body = response.content.decode()
    for user in (manager, rep, executive):
        assert user.email in body
    assert [m.user.email for m in response.context["members"]] == [
        "max.manager@example.com",  # managers first, then reps, then executives
        "rita.rep@example.com",
        "eve.exec@example.com",
    ]


def test_the_list_takes_the_same_queries_however_many_members(
    login, manager, team, django_assert_max_num_queries
):
    client = login(manager)
    client.get(page(team))  # warm the session
    with django_assert_max_num_queries(9) as few:
        client.get(page(team))
    for n in range(15):
        membership_add(team=team, email=f"rep{n}@example.com", role=Role.REP)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(page(team))
    assert len(response.context["members"]) == 16


def test_outsider_gets_404_everywhere(login, outsider, manager, team):
    membership = Membership.objects.get(user=manager, team=team)
    client = login(outsider)
    assert client.get(page(team)).status_code == 404
    assert client.post(reverse("member_invite", args=[team.slug]), {}).status_code == 404
    assert client.post(role_url(membership), {"role": "rep"}).status_code == 404
    assert client.post(remove_url(membership)).status_code == 404
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER


@pytest.mark.parametrize("who", ["rep", "executive"])
def test_rep_and_executive_get_403(login, request, manager, team, who):
    user = request.getfixturevalue(who)
    membership = Membership.objects.get(user=manager, team=team)
    client = login(user)
    assert client.get(page(team)).status_code == 403
    assert client.post(role_url(membership), {"role": "rep"}).status_code == 403
    assert client.post(remove_url(membership)).status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER


def test_wrong_methods_are_405(login, manager, rep, team):
    membership = Membership.objects.get(user=rep, team=team)
    client = login(manager)
    assert client.post(page(team)).status_code == 405
    assert client.get(reverse("member_invite", args=[team.slug])).status_code == 405
    assert client.get(role_url(membership)).status_code == 405
    assert client.get(remove_url(membership)).status_code == 405


def test_manager_invites_by_email(login, manager, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(manager).post(
            reverse("member_invite", args=[team.slug]),
            {"email": "new.rep@example.com", "role": "rep"},
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(team=team)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new.rep@example.com",
        Role.REP,
        manager,
    )
    assert len(mail.outbox) == 1
    link = next(w for w in mail.outbox[0].body.split() if "/invitations/" in w)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash == Invitation.token_hash_of(token)
    assert token not in invitation.token_hash
    # The pending invitation is listed.
    assert "new.rep@example.com" in login(manager).get(page(team)).content.decode()


def test_a_bad_invitation_is_a_form_error(login, manager, team):
    response = login(manager).post(
        reverse("member_invite", args=[team.slug]), {"email": "not-an-address", "role": "boss"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"email", "role"}
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_manager_changes_a_role(login, manager, rep, team):
    membership = Membership.objects.get(user=rep, team=team)
    response = login(manager).post(role_url(membership), {"role": "manager"})
    assert response.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER


def test_manager_removes_a_member(login, manager, rep, team):
    membership = Membership.objects.get(user=rep, team=team)
    assert login(manager).post(remove_url(membership)).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_manager_cannot_step_down_or_be_removed(login, manager, team):
    membership = Membership.objects.get(user=manager, team=team)
    client = login(manager)
    response = client.post(role_url(membership), {"role": "rep"}, follow=True)
    assert "last manager" in response.content.decode()
    response = client.post(remove_url(membership), follow=True)
    assert "last manager" in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER


def test_with_a_second_manager_one_may_step_down(login, manager, rep, team):
    Membership.objects.filter(user=rep, team=team).update(role=Role.MANAGER)
    membership = Membership.objects.get(user=manager, team=team)
    login(manager).post(role_url(membership), {"role": "rep"})
    assert Membership.objects.get(pk=membership.pk).role == Role.REP


def test_a_member_of_another_team_is_404(login, manager, outsider, other_team, team):
    theirs = Membership.objects.get(user=outsider, team=other_team)
    # The id exists, but not in this team: the same answer as for no id at all.
    url = reverse("member_remove", args=[team.slug, theirs.id])
    assert login(manager).post(url).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_an_administrator_manages_any_team(login, administrator, manager, team):
    response = login(administrator).get(page(team))
    assert response.status_code == 200
    assert manager.email in response.content.decode()
