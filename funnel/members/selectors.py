"""Reads for team set-up: who may create teams and manage members, a team's members and
pending invitations, an invitation by its token."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from funnel.models import Invitation, Membership, Role, Team
from funnel.selectors import Action, TeamAccess, team_get_for_user

User = AbstractBaseUser | AnonymousUser


def user_is_administrator(*, user: User) -> bool:
    """Administrators create teams: superusers, and staff users given the "Can add team"
    permission (only staff are asked, so the home page of everyone else costs no query)."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or (user.is_staff and user.has_perm("funnel.add_team"))


def team_administrator_check(*, user: User) -> None:
    if not user_is_administrator(user=user):
        raise PermissionDenied("Only an administrator can create teams.")


def members_access_for_user(*, user: User, slug: str) -> TeamAccess:
    """The team whose members the user may manage: its managers, and administrators for any
    team (they set teams up). 404 for a team the user cannot see, 403 for another role."""
    if user_is_administrator(user=user):
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise Http404("No such team.")
        role = (
            Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()
        )
        return TeamAccess(team=team, role=role or Role.MANAGER, administering=role is None)
    return team_get_for_user(user=user, slug=slug, action=Action.MANAGE)


def members_for_team(*, team: Team) -> list[Membership]:
    """The team's members, managers first, then by name."""
    order = {Role.MANAGER: 0, Role.REP: 1, Role.EXECUTIVE: 2}
    memberships = Membership.objects.filter(team=team).select_related("user")
    return sorted(
        memberships,
        key=lambda m: (order[m.role], (m.user.get_full_name() or m.user.email).lower()),
    )


def membership_get_for_team(*, team: Team, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("user", "team")
        .filter(team=team, id=membership_id)
        .first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitations_pending_for_team(*, team: Team) -> list[Invitation]:
    """Invitations not accepted yet, newest first, each with `expired` set."""
    now = timezone.now()
    invitations = list(
        Invitation.objects.filter(team=team, accepted_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
    )
    for invitation in invitations:
        invitation.expired = invitation.is_expired(now=now)
    return invitations


def invitation_for_token(*, token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("team")
        .filter(token_hash=Invitation.token_hash_of(token))
        .first()
    )


def account_has_password(*, email: str) -> bool:
    """Whether the address already has an account someone can log in to."""
    user = get_user_model().objects.filter(username=email).first()
    return user is not None and user.has_usable_password()
