"""Writes for teams and memberships. One transaction each."""

import logging
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.default_characteristics import DEFAULT_CHARACTERISTICS
from funnel.default_stages import DEFAULT_STAGES
from funnel.models import (
    Characteristic,
    Deal,
    DealStatus,
    DefinitionVersion,
    Membership,
    OperationalDefinition,
    Outcome,
    Role,
    Stage,
    StageEvent,
    Team,
)

logger = logging.getLogger(__name__)


def _definition_create(
    *, team: Team, slug: str, template, effective_from, author: AbstractBaseUser | None
) -> OperationalDefinition:
    """An operational definition with its version 1, from a stage or characteristic template."""
    definition = OperationalDefinition.objects.create(team=team, slug=slug, term=template.name)
    DefinitionVersion.objects.create(
        definition=definition,
        number=1,
        meaning=template.meaning,
        criteria=list(template.criteria),
        how_measured=template.how_measured,
        examples=template.examples,
        non_examples=template.non_examples,
        effective_from=effective_from,
        author=author,
    )
    return definition


@transaction.atomic
def team_create(*, slug: str, name: str, author: AbstractBaseUser | None = None) -> Team:
    """A team with the default stages and deal characteristics, each linked to its operational
    definition (version 1)."""
    started = time.perf_counter()
    team = Team.objects.create(slug=slug, name=name)
    today = timezone.localdate()
    for position, template in enumerate(DEFAULT_STAGES, start=1):
        definition = _definition_create(
            team=team,
            slug=f"stage-{template.slug}",
            template=template,
            effective_from=today,
            author=author,
        )
        Stage.objects.create(
            team=team,
            slug=template.slug,
            name=template.name,
            position=position,
            station=template.station,
            definition=definition,
            target_days=template.target_days,
        )
    for position, template in enumerate(DEFAULT_CHARACTERISTICS, start=1):
        definition = _definition_create(
            team=team,
            slug=f"char-{template.slug}",
            template=template,
            effective_from=today,
            author=author,
        )
        Characteristic.objects.create(
            team=team,
            slug=template.slug,
            name=template.name,
            kind=template.kind,
            choices=list(template.choices),
            definition=definition,
            position=position,
        )
    logger.info(
        "team created team=%s stages=%d characteristics=%d by=%s in %.0f ms",
        team.slug,
        len(DEFAULT_STAGES),
        len(DEFAULT_CHARACTERISTICS),
        author.pk if author is not None else None,
        (time.perf_counter() - started) * 1000,
    )
    return team


@transaction.atomic
def membership_add(
    *, team: Team, email: str, role: str, name: str = ""
) -> tuple[Membership, bool, AbstractBaseUser]:
    """Add a user (created if needed, username = email) to a team in a role.

    Returns the membership, whether the user was created, and the user. A new user has an
    unusable password until they set one.
    """
    started = time.perf_counter()
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    user_model = get_user_model()
    user = user_model.objects.filter(username=email).first()
    created = user is None
    if created:
        first, _, last = name.partition(" ")
        user = user_model(username=email, email=email, first_name=first, last_name=last)
        user.set_unusable_password()
        user.save()
    membership, _ = Membership.objects.update_or_create(
        user=user, team=team, defaults={"role": role}
    )
    logger.info(
        "membership team=%s user=%s role=%s user_created=%s in %.0f ms",
        team.slug,
        user.pk,
        role,
        created,
        (time.perf_counter() - started) * 1000,
    )
    return membership, created, user


def password_reset_hint(*, email: str) -> str:
    return f"To set a password for {email}, run: python manage.py changepassword {email}"


def deal_refresh_position(*, deal: Deal) -> Deal:
    """Re-derive a deal's cached position (status, current stage, dates) from its event log.

    The event with the latest occurred_at wins, ties broken by arrival (id), so the order in
    which events arrive never changes the result.
    """
    events = list(
        StageEvent.objects.filter(deal=deal)
        .order_by("occurred_at", "id")
        .values("stage_id", "outcome", "lost_reason", "occurred_at")
    )
    if not events:
        return deal
    position = deal_position_from_events(events)
    for field, value in position.items():
        setattr(deal, field, value)
    deal.save(update_fields=[*position, "updated_at"])
    return deal


# The plain text, not the enum member: positions are written in bulk, and psycopg writes a str
# subclass through a slower path.
OPEN = DealStatus.OPEN.value


def deal_position_from_events(events: list[dict]) -> dict:
    """The cached fields of a deal, from its events sorted by (occurred_at, id)."""
    last = events[-1]
    position = {
        "opened_at": events[0]["occurred_at"],
        "status": last["outcome"] or OPEN,
        "lost_reason": last["lost_reason"] if last["outcome"] == Outcome.LOST else "",
        "closed_at": last["occurred_at"] if last["outcome"] else None,
    }
    # The stage the deal is in (open) or was last in (closed), and when it entered it.
    stage_id, entered_at = None, None
    for event in events:
        if event["stage_id"] is not None and event["stage_id"] != stage_id:
            stage_id, entered_at = event["stage_id"], event["occurred_at"]
    position["current_stage_id"] = stage_id
    position["stage_entered_at"] = entered_at
    position["last_event_at"] = last["occurred_at"]
    return position


def deal_position_extend(position: dict, events: list[dict]) -> dict:
    """The position after `events`, which all sort after the log `position` was derived from.

    Equal to deal_position_from_events(log + events), without reading the log again.
    """
    position = dict(position)
    stage_id, entered_at = position["current_stage_id"], position["stage_entered_at"]
    for event in events:
        if event["stage_id"] is not None and event["stage_id"] != stage_id:
            stage_id, entered_at = event["stage_id"], event["occurred_at"]
    last = events[-1]
    position.update(
        status=last["outcome"] or OPEN,
        lost_reason=last["lost_reason"] if last["outcome"] == Outcome.LOST else "",
        closed_at=last["occurred_at"] if last["outcome"] else None,
        current_stage_id=stage_id,
        stage_entered_at=entered_at,
        last_event_at=last["occurred_at"],
    )
    if position.get("opened_at") is None:
        position["opened_at"] = events[0]["occurred_at"]
    return position
