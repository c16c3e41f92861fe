"""Reads, scoped to what the user may see. Access rules live here, in one place.

Someone outside a team gets Http404 for the team and every object of it, exactly as for an id
that does not exist; a member whose role lacks the right gets PermissionDenied (403).
"""

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from funnel.models import Deal, Membership, Role, Stage, Team


class Action(StrEnum):
    VIEW = "view"  # read the team's funnel, definitions, cycles, dashboard
    RECORD = "record"  # record stage changes and observations, agree, add journal notes
    MANAGE = "manage"  # own definitions, targets, cycles, imports


ROLE_RIGHTS: dict[str, frozenset[Action]] = {
    Role.REP: frozenset({Action.VIEW, Action.RECORD}),
    Role.MANAGER: frozenset({Action.VIEW, Action.RECORD, Action.MANAGE}),
    Role.EXECUTIVE: frozenset({Action.VIEW}),
}

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class TeamAccess:
    """A team as one user sees it: the role they act in there, and what that role may do."""

    team: Team
    role: str

    def can(self, action: Action) -> bool:
        return action in ROLE_RIGHTS[self.role]

    @property
    def can_record(self) -> bool:
        return self.can(Action.RECORD)

    @property
    def can_manage(self) -> bool:
        return self.can(Action.MANAGE)

    @property
    def role_label(self) -> str:
        return Role(self.role).label


def user_is_executive(*, user: User) -> bool:
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, role=Role.EXECUTIVE).exists()


def team_accesses_for_user(*, user: User) -> list[TeamAccess]:
    """Every team the user may see, with their role there (executives: all teams)."""
    if not user.is_authenticated:
        return []
    roles = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
    is_executive = Role.EXECUTIVE in roles.values()
    teams = Team.objects.all() if is_executive else Team.objects.filter(id__in=roles)
    return [TeamAccess(team=t, role=roles.get(t.id, Role.EXECUTIVE)) for t in teams]


def team_access_check(*, user: User, team: Team, action: Action = Action.VIEW) -> TeamAccess:
    """The user's access to a team they reached through some object; 404 or 403 when refused."""
    role = None
    if user.is_authenticated:
        role = (
            Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()
        )
        if role is None and user_is_executive(user=user):
            role = Role.EXECUTIVE
    if role is None:
        raise Http404("No such team.")
    access = TeamAccess(team=team, role=role)
    if not access.can(action):
        raise PermissionDenied(f"A {access.role_label.lower()} cannot do that here.")
    return access


def team_get_for_user(*, user: User, slug: str, action: Action = Action.VIEW) -> TeamAccess:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team_access_check(user=user, team=team, action=action)


def deal_get_for_user(
    *, user: User, team: Team, deal_id: int, action: Action = Action.VIEW
) -> tuple[Deal, TeamAccess]:
    """A deal of a team; reps may change only their own deals (managers any of the team's)."""
    access = team_access_check(user=user, team=team, action=action)
    deal = (
        Deal.objects.select_related("owner", "current_stage", "team")
        .filter(team=team, id=deal_id)
        .first()
    )
    if deal is None:
        raise Http404("No such deal.")
    if action is Action.RECORD and access.role == Role.REP and deal.owner_id != user.pk:
        raise PermissionDenied("Reps record on their own deals only.")
    return deal, access


def stages_for_team(*, team: Team) -> QuerySet[Stage]:
    return Stage.objects.filter(team=team).select_related("definition").order_by("position")


def memberships_for_team(*, team: Team) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(team=team).select_related("user").order_by("role", "user__email")
    )
