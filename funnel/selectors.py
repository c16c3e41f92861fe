"""Reads, scoped to what the user may see. Access rules live here, in one place.

Someone outside a team gets Http404 for the team and every object of it, exactly as for an id
that does not exist; a member whose role lacks the right gets PermissionDenied (403).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from funnel.models import (
    BottleneckStatus,
    Deal,
    DealStatus,
    DefinitionVersion,
    Membership,
    Role,
    Stage,
    Station,
    Team,
)


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
    # An administrator on a team they are not a member of: they may set its members up, and
    # see nothing else of it.
    administering: bool = False

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


def team_accesses_sql(*, user: User) -> tuple[str, list]:
    """The statement behind ``team_accesses_for_user``: the teams the user may see, each with
    ``my_role``, the user's own role there (one membership per user and team at most), kept
    where they have one or where the user is an executive anywhere. A caller that needs more
    per team reads it from this statement as a subquery, in the same round trip."""
    team, membership = Team._meta.db_table, Membership._meta.db_table
    return (
        f"SELECT t.*, m.role AS my_role FROM {team} t "  # noqa: S608 (names from the models)
        f"LEFT JOIN {membership} m ON m.team_id = t.id AND m.user_id = %s "
        f"WHERE m.role IS NOT NULL OR EXISTS "
        f"(SELECT 1 FROM {membership} e WHERE e.user_id = %s AND e.role = %s)",
        [user.pk, user.pk, Role.EXECUTIVE],
    )


def team_accesses_of(teams) -> list[TeamAccess]:
    """The accesses of the teams ``team_accesses_sql`` read (each with its ``my_role``)."""
    return [TeamAccess(team=t, role=t.my_role or Role.EXECUTIVE) for t in teams]


def team_accesses_for_user(*, user: User) -> list[TeamAccess]:
    """Every team the user may see, with their role there (executives: all teams), in one
    query, in the teams' own order.

    Written in SQL because every page's top bar runs it: the ORM's subqueries took three times
    as long to compile as the statement took to run."""
    if not user.is_authenticated:
        return []
    sql, params = team_accesses_sql(user=user)
    return team_accesses_of(Team.objects.raw(f"{sql} ORDER BY t.name, t.id", params))


def team_accesses_for_request(request: HttpRequest) -> list[TeamAccess]:
    """``team_accesses_for_user`` for the request's user, read once per request: a page that
    needs the user's teams and the top bar that lists them share the one query (a page that
    read them along with more, see ``team_accesses_remember``)."""
    accesses = getattr(request, "_team_accesses", None)
    if accesses is None:
        accesses = team_accesses_remember(request, team_accesses_for_user(user=request.user))
    return accesses


def team_accesses_remember(request: HttpRequest, accesses: list[TeamAccess]) -> list[TeamAccess]:
    """Keep the request's user's accesses, read by the page, for the rest of the request."""
    request._team_accesses = accesses
    return accesses


def team_get_for_request(
    request: HttpRequest, *, slug: str, action: Action = Action.VIEW
) -> TeamAccess:
    """``team_get_for_user`` from the request's accesses (no query of its own once they are
    read): 404 for a missing team and for one the user may not see, 403 when the role lacks
    the right."""
    access = next((a for a in team_accesses_for_request(request) if a.team.slug == slug), None)
    if access is None:
        raise Http404("No such team.")
    return team_access_check_role(access, action)


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
    return team_access_check_role(TeamAccess(team=team, role=role), action)


def team_access_check_role(access: TeamAccess, action: Action) -> TeamAccess:
    """The access itself when its role may do `action`, else PermissionDenied (403)."""
    if not access.can(action):
        label = access.role_label.lower()
        article = "An" if label[0] in "aeiou" else "A"
        raise PermissionDenied(f"{article} {label} cannot do that here.")
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
    """The stages that take events, in funnel order (for forms and the team's pages)."""
    return (
        Stage.objects.filter(team=team)
        .taking_events()
        .select_related("definition")
        .order_by("position")
    )


def memberships_for_team(*, team: Team) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(team=team).select_related("user").order_by("role", "user__email")
    )


@dataclass(frozen=True)
class TeamFigures:
    """Cheap counts shown on the home page; computed for all of a user's teams at once."""

    open_deals: int = 0
    won_recent: int = 0
    lost_recent: int = 0
    my_open_deals: int = 0
    members: int = 0
    # Set for a team whose data stopped (an imported history): its days end here, not today.
    recent_to: date | None = None
    # Open deals per station, in the order of the sales system: [(station, label, count)].
    open_by_station: tuple[tuple[str, str, int], ...] = ()

    @property
    def decided_recent(self) -> int:
        return self.won_recent + self.lost_recent


STOPPED_AFTER_DAYS = 14  # no event for two weeks: the team's data has stopped


def team_figures_for_user(
    *, user: User, team_ids: list[int], days: int = 90
) -> dict[int, TeamFigures]:
    """Open deals (in total and per station), won/lost in the last `days` days, the user's own
    open deals and the member count, per team, in three aggregate queries however many teams
    there are."""
    if not team_ids:
        return {}
    now = timezone.now()
    # A team whose data stopped counts the `days` up to its newest event, not up to today,
    # where an imported history would show nothing (the data's time, DESIGN.md).
    newest = dict(
        Deal.objects.filter(team_id__in=team_ids)
        .values("team_id")
        .annotate(newest=Max("last_event_at"))
        .order_by()
        .values_list("team_id", "newest")
    )
    ends = {
        t: at if at is not None and at < now - timedelta(days=STOPPED_AFTER_DAYS) else now
        for t, at in ((t, newest.get(t)) for t in team_ids)
    }
    recent = Q(pk__in=[])
    for team_id, end in ends.items():
        recent |= Q(team_id=team_id, closed_at__gte=end - timedelta(days=days), closed_at__lte=end)
    deal_rows = (
        Deal.objects.filter(team_id__in=team_ids)
        .values("team_id")
        .annotate(
            open_deals=Count("id", filter=Q(status=DealStatus.OPEN)),
            won_recent=Count("id", filter=Q(status=DealStatus.WON) & recent),
            lost_recent=Count("id", filter=Q(status=DealStatus.LOST) & recent),
            my_open_deals=Count("id", filter=Q(status=DealStatus.OPEN, owner_id=user.pk)),
        )
        .order_by()
    )
    member_counts = dict(
        Membership.objects.filter(team_id__in=team_ids)
        .values("team_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("team_id", "n")
    )
    station_counts = {
        (team_id, station): n
        for team_id, station, n in Deal.objects.filter(
            team_id__in=team_ids, status=DealStatus.OPEN, current_stage__isnull=False
        )
        .values("team_id", "current_stage__station")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("team_id", "current_stage__station", "n")
    }
    by_team = {row.pop("team_id"): row for row in deal_rows}
    return {
        team_id: TeamFigures(
            **by_team.get(team_id, {}),
            members=member_counts.get(team_id, 0),
            recent_to=ends[team_id].date() if ends[team_id] != now else None,
            open_by_station=tuple(
                (station, label, station_counts.get((team_id, station), 0))
                for station, label in Station.choices
            ),
        )
        for team_id in team_ids
    }


def stages_with_definitions_for_team(*, team: Team) -> list[Stage]:
    """The team's stages in funnel order, each with `current_version` (its operational
    definition's latest version, or None) and `open_deals` (open deals waiting in it), in three
    queries."""
    latest_first = Prefetch(
        "definition__versions",
        queryset=DefinitionVersion.objects.order_by("-number"),
        to_attr="versions_latest_first",
    )
    stages = list(stages_for_team(team=team).prefetch_related(latest_first))
    open_counts = dict(
        Deal.objects.filter(team=team, status=DealStatus.OPEN)
        .values("current_stage_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("current_stage_id", "n")
    )
    for stage in stages:
        versions = stage.definition.versions_latest_first if stage.definition else []
        stage.current_version = versions[0] if versions else None
        stage.open_deals = open_counts.get(stage.id, 0)
        # Percent for display: 0.425 -> 42.5 (widthratio would round it to 43).
        conversion = stage.target_conversion
        stage.target_conversion_pct = None if conversion is None else conversion * 100
    return stages


@dataclass(frozen=True)
class TargetInUse:
    """The target the verdict judges a stage by, and where it comes from: ``yours`` (set by the
    manager) or ``demonstrated`` (the team's own best sustained level, from the latest verdict)."""

    value: float
    source: str  # "yours" | "demonstrated"
    metric: str  # "conversion" (a share, 0-1) | "days"

    @property
    def label(self) -> str:
        """A manager's target as typed ("42.5 %", "12 days"); a demonstrated one as the
        dashboard writes it ("65 %", "13.6 days")."""
        if self.metric == "conversion":
            if self.source == "yours":
                return f"{round(self.value * 100, 1):g} %"
            return f"{self.value * 100:.0f} %"
        return f"{self.value:g} days" if self.source == "yours" else f"{self.value:.1f} days"


def stage_targets_in_use(*, team: Team, stages: list[Stage]) -> None:
    """Set ``conversion_target`` and ``days_target`` (a TargetInUse or None) on each stage: the
    manager's target where set, else the demonstrated one of the latest verdict (one query), so
    the overview names the same target as the dashboard. The verdict judges a stage's average
    days by the demonstrated level even where the manager set target days (those mark deals
    aged), so ``days_judged`` gives that level beside the manager's, or None."""
    latest = BottleneckStatus.objects.filter(team=team).order_by("-computed_at", "-id").first()
    demonstrated = {
        (c.get("stage_position"), c.get("metric")): c.get("target")
        for c in ((latest.figures or {}).get("contenders", []) if latest else [])
        if c.get("target_source") == "capability" and c.get("target") is not None
    }
    for stage in stages:
        for metric, mine in (("conversion", stage.target_conversion), ("days", stage.target_days)):
            if mine is not None:
                target = TargetInUse(float(mine), "yours", metric)
            elif (shown := demonstrated.get((stage.position, metric))) is not None:
                target = TargetInUse(float(shown), "demonstrated", metric)
            else:
                target = None
            setattr(stage, f"{metric}_target", target)
        judged = demonstrated.get((stage.position, "days"))
        stage.days_judged = (
            TargetInUse(float(judged), "demonstrated", "days")
            if judged is not None and stage.target_days is not None
            else None
        )


def team_status_latest(*, team: Team) -> BottleneckStatus | None:
    """The team's latest verdict, with its stage."""
    return (
        BottleneckStatus.objects.filter(team=team)
        .select_related("stage")
        .order_by("-computed_at", "-id")
        .first()
    )
