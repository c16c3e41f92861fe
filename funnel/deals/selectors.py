"""Reads for the rep's screens: deal lists with what is still missing, and a deal's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from funnel.bounds import STORED_EARLIEST, STORED_LATEST
from funnel.models import (
    Characteristic,
    Deal,
    DealStatus,
    DefinitionVersion,
    Membership,
    Observation,
    Role,
    StageEvent,
    Team,
)
from funnel.selectors import Action, TeamAccess, deal_get_for_user

OWNER_ME = "me"
OWNER_ALL = "all"
STATUS_ALL = "all"


@dataclass(frozen=True)
class DealFilters:
    """What the deal list shows; already validated (see forms.DealFilterForm)."""

    status: str = DealStatus.OPEN
    stage: str = ""
    owner: str = OWNER_ALL  # "me", "all", or a user id as text
    q: str = ""

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond "whose deals" narrows the list (for the empty state)."""
        return bool(
            self.q
            or self.stage
            or self.status != DealStatus.OPEN
            or self.owner not in (OWNER_ME, OWNER_ALL)
        )


def deals_for_team(*, team: Team, user: AbstractBaseUser, filters: DealFilters) -> QuerySet[Deal]:
    """The team's deals matching the filters, most urgent first: open deals longest in their
    stage, then the most recently closed."""
    deals = Deal.objects.filter(team=team).select_related("owner", "current_stage")
    if filters.status != STATUS_ALL:
        deals = deals.filter(status=filters.status)
    if filters.stage:
        deals = deals.filter(current_stage__slug=filters.stage)
    if filters.owner == OWNER_ME:
        deals = deals.filter(owner_id=user.pk)
    elif filters.owner != OWNER_ALL:
        deals = deals.filter(owner_id=int(filters.owner))
    if filters.q:
        deals = deals.filter(Q(account__icontains=filters.q) | Q(external_id__icontains=filters.q))
    if filters.status == DealStatus.OPEN:
        return deals.order_by("stage_entered_at", "id")
    # Open deals first (no closed_at), then the most recently closed.
    return deals.order_by(F("closed_at").desc(nulls_first=True), "stage_entered_at", "id")


def deals_totals(*, deals: QuerySet[Deal]) -> dict:
    """How many deals the filters match and their summed amount, in one query."""
    return deals.order_by().aggregate(count=Count("id"), amount=Sum("amount"))


def characteristics_active_for_team(
    *, team: Team, with_definitions: bool = True
) -> list[Characteristic]:
    """The team's characteristics in use, in their order. With definitions, each has
    `current_version`: its definition's latest version (or None), so the deal page can say what
    counts as a yes."""
    characteristics = Characteristic.objects.filter(team=team, is_active=True).order_by(
        "position", "name"
    )
    if not with_definitions:
        return list(characteristics)
    latest_first = Prefetch(
        "definition__versions",
        queryset=DefinitionVersion.objects.order_by("-number"),
        to_attr="versions_latest_first",
    )
    characteristics = list(
        characteristics.select_related("definition").prefetch_related(latest_first)
    )
    for c in characteristics:
        versions = c.definition.versions_latest_first if c.definition else []
        c.current_version = versions[0] if versions else None
    return characteristics


def deals_annotate_missing(
    *, deals: list[Deal], characteristics: list[Characteristic], now: dt.datetime | None = None
) -> list[Deal]:
    """Give each deal `missing` (active characteristics never observed on it) and its age in
    stage (see deal_annotate_age), in one query for the whole page."""
    observed: set[tuple[int, int]] = set(
        Observation.objects.filter(
            deal_id__in=[d.id for d in deals],
            characteristic_id__in=[c.id for c in characteristics],
        )
        .values_list("deal_id", "characteristic_id")
        .distinct()
    )
    now = now or timezone.now()
    for deal in deals:
        deal.missing = [c for c in characteristics if (deal.id, c.id) not in observed]
        deal_annotate_age(deal=deal, now=now)
    return deals


def deal_annotate_age(*, deal: Deal, now: dt.datetime | None = None) -> Deal:
    """Give the deal `days_in_stage` (until it closed, for a closed deal) and `is_aged`: open
    and longer in its stage than the stage's target days."""
    end = deal.closed_at or now or timezone.now()
    deal.days_in_stage = days_between(deal.stage_entered_at, end)
    target = deal.current_stage.target_days if deal.current_stage else None
    deal.is_aged = bool(
        deal.is_open and target and deal.days_in_stage is not None and deal.days_in_stage > target
    )
    return deal


def days_between(start: dt.datetime | None, end: dt.datetime) -> int | None:
    if start is None:
        return None
    return max((end - start).days, 0)


def owners_for_team(*, team: Team) -> list[AbstractBaseUser]:
    """The people who can own deals on the team, for the owner filter."""
    return [
        m.user
        for m in Membership.objects.filter(team=team, role__in=[Role.REP, Role.MANAGER])
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__email")
    ]


@dataclass(frozen=True)
class CharacteristicState:
    """One characteristic as the deal page shows it: the latest value and how many times it
    was recorded."""

    characteristic: Characteristic
    latest: Observation | None
    count: int


@dataclass(frozen=True)
class TimelineEntry:
    """A stage event or an observation, as one row of the deal's history."""

    kind: str  # "stage", "won", "lost" or "observation"
    at: dt.datetime
    recorded_at: dt.datetime
    who: AbstractBaseUser | None
    origin: str
    origin_label: str
    event: StageEvent | None = None
    observation: Observation | None = None


def deal_observations(*, deal: Deal) -> list[Observation]:
    """Every observation on the deal, oldest first (the last one of a characteristic is its
    current value)."""
    return list(
        Observation.objects.filter(deal=deal)
        .select_related("characteristic", "observed_by")
        .order_by("observed_at", "id")
    )


def deal_events(*, deal: Deal) -> list[StageEvent]:
    return list(
        StageEvent.objects.filter(deal=deal)
        .select_related("stage", "recorded_by")
        .order_by("occurred_at", "id")
    )


def characteristic_states(
    *, characteristics: list[Characteristic], observations: list[Observation]
) -> list[CharacteristicState]:
    """The latest value of every active characteristic, from the deal's observations (oldest
    first)."""
    latest: dict[int, Observation] = {}
    counts: dict[int, int] = {}
    for o in observations:
        latest[o.characteristic_id] = o
        counts[o.characteristic_id] = counts.get(o.characteristic_id, 0) + 1
    return [
        CharacteristicState(characteristic=c, latest=latest.get(c.id), count=counts.get(c.id, 0))
        for c in characteristics
    ]


def deal_timeline(
    *, events: list[StageEvent], observations: list[Observation]
) -> list[TimelineEntry]:
    """Stage events and observations merged by when they happened, newest first (ties: the
    later recorded first)."""
    entries = [
        TimelineEntry(
            kind=e.outcome or "stage",
            at=e.occurred_at,
            recorded_at=e.recorded_at,
            who=e.recorded_by,
            origin=e.origin,
            origin_label=e.get_origin_display(),
            event=e,
        )
        for e in events
    ] + [
        TimelineEntry(
            kind="observation",
            at=o.observed_at,
            recorded_at=o.recorded_at,
            who=o.observed_by,
            origin=o.origin,
            origin_label=o.get_origin_display(),
            observation=o,
        )
        for o in observations
    ]
    entries.sort(key=lambda t: (t.at, t.recorded_at), reverse=True)
    return entries


def deal_get_for_user_by_slug(
    *, user: AbstractBaseUser, slug: str, deal_id: int, action: Action = Action.VIEW
) -> tuple[Deal, TeamAccess]:
    """A deal reached through its team's slug: 404 for a missing or foreign team or deal, 403
    when the role (or, for a rep, the deal's owner) does not allow the action."""
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return deal_get_for_user(user=user, team=team, deal_id=deal_id, action=action)


def deal_can_record(*, access: TeamAccess, deal: Deal, user: AbstractBaseUser) -> bool:
    """The same rule as deal_get_for_user(action=RECORD), to decide which controls to show."""
    if not access.can_record:
        return False
    return access.role != Role.REP or deal.owner_id == user.pk


def deal_dates_out_of_range(*, deal: Deal) -> bool:
    """Whether the deal or its log holds a time no boundary would let in (before 1970 or past
    the end of the calendar): a row written around the boundaries, which the admin may delete.
    Compared in the database, where such a value is still exact."""
    low, high = STORED_EARLIEST, STORED_LATEST
    outside = Q()
    for name in ("stage_entered_at", "opened_at", "closed_at", "last_event_at"):
        outside |= Q(**{f"{name}__lt": low}) | Q(**{f"{name}__gt": high})
    if Deal.objects.filter(outside, id=deal.id).exists():
        return True
    events = StageEvent.objects.filter(team_id=deal.team_id, deal_id=deal.id)
    return events.filter(Q(occurred_at__lt=low) | Q(occurred_at__gt=high)).exists()
