"""The team set-up services: invitations (hash stored, re-invite replaces, 7 days) and the
last-manager rule."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from funnel.members.services import (
    InvitationRefused,
    invitation_accept,
    invitation_create,
    member_remove,
    member_role_change,
)
from funnel.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def invite(team, by, email="nina@example.com", role=Role.REP):
    return invitation_create(
        team=team, email=email, role=role, invited_by=by, site_url="https://sales.example.com"
    )


def test_the_token_is_only_in_the_link(team, manager):
    sent = invite(team, manager)
    token = sent.link.rstrip("/").rsplit("/", 1)[1]
    assert sent.link == f"https://sales.example.com/invitations/{token}/"
    stored = Invitation.objects.get()
    assert token not in str(stored.__dict__.values())
    assert stored.token_hash == Invitation.token_hash_of(token)
    assert stored.expires_at - stored.created_at == timedelta(days=7)


def test_reinviting_replaces_the_pending_invitation(team, other_team, manager, outsider):
    invite(team, manager, email="Nina@Example.com")
    second = invite(team, manager, email="nina@example.com", role=Role.MANAGER)
    invite(other_team, outsider)  # another team's invitation is a different one
    pending = Invitation.objects.filter(team=team, accepted_at__isnull=True)
    assert list(pending) == [second.invitation]
    assert Invitation.objects.filter(team=other_team).count() == 1


def test_an_accepted_invitation_stays_when_the_address_is_invited_again(team, manager, rep):
    sent = invite(team, manager, email=rep.email, role=Role.MANAGER)
    invitation_accept(invitation=sent.invitation, user=rep)
    invite(team, manager, email=rep.email, role=Role.EXECUTIVE)
    assert Invitation.objects.filter(team=team, email=rep.email).count() == 2


def test_one_pending_invitation_per_address_and_team_in_the_database(team, manager):
    first = invite(team, manager).invitation
    with pytest.raises(IntegrityError):
        Invitation.objects.create(
            team=team,
            email=first.email,
            role=Role.REP,
            token_hash="0" * 64,
            created_at=first.created_at,
            expires_at=first.expires_at,
        )


def test_accepting_twice_is_refused(team, manager, rep):
    sent = invite(team, manager, email=rep.email, role=Role.MANAGER)
    invitation_accept(invitation=sent.invitation, user=rep)
    with pytest.raises(InvitationRefused) as refused:
        invitation_accept(invitation=sent.invitation, user=rep)
    assert refused.value.status == 410


def test_the_last_manager_stays(team, manager, rep):
    membership = Membership.objects.get(user=manager, team=team)
    with pytest.raises(ValidationError, match="last manager of North Region"):
        member_role_change(membership=membership, role=Role.REP)
    with pytest.raises(ValidationError, match="last manager"):
        member_remove(membership=membership)
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER
    # A rep may go; an unknown role is refused.
    member_remove(membership=Membership.objects.get(user=rep, team=team))
    with pytest.raises(ValidationError, match="Unknown role"):
        member_role_change(membership=membership, role="boss")
