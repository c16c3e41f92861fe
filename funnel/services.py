"""Writes for teams and memberships. One transaction each."""

import logging
import time
from decimal import Decimal

import pgtrigger
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.default_characteristics import DEFAULT_CHARACTERISTICS
from funnel.default_stages import DEFAULT_STAGES
from funnel.models import (
    Characteristic,
    Deal,
    DealChanged,
    DefinitionVersion,
    Membership,
    Observation,
    OperationalDefinition,
    Role,
    Stage,
    StageEvent,
    Team,
)
from funnel.pipeline.request import company_recompute_request
from funnel.touches.services import tactics_create_defaults

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
    tactics_create_defaults(team=team, author=author)
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


@transaction.atomic
def team_delete(*, team: Team) -> None:
    """Delete a team with its whole history (deals, event log, observations, snapshots), then
    roll the company figures up again without it."""
    started = time.perf_counter()
    slug, team_id = team.slug, team.id
    # The logs go first: stages are protected while events or deals still point at them. The
    # event log is append-only in the database; this is the one write allowed to delete from it.
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_delete"):
        Observation.objects.filter(deal__team=team).delete()
        StageEvent.objects.filter(team=team).delete()
        Deal.objects.filter(team=team).delete()
        team.delete()
        DealChanged.objects.filter(team_id=team_id).delete()  # the marks its deletes left
    transaction.on_commit(company_recompute_request)
    logger.info("team deleted team=%s in %.0f ms", slug, (time.perf_counter() - started) * 1000)


@transaction.atomic
def team_update(*, team: Team, name: str, winnable_min_difference: Decimal) -> Team:
    """A team's display name and settings; its slug (in every URL) stays."""
    team.name = name.strip()
    team.winnable_min_difference = winnable_min_difference
    team.full_clean(exclude=["slug"])
    team.save(update_fields=["name", "winnable_min_difference"])
    logger.info(
        "team updated team=%s name=%r winnable_min_difference=%s",
        team.slug,
        team.name,
        team.winnable_min_difference,
    )
    return team


@transaction.atomic
def membership_set(*, team: Team, user: AbstractBaseUser, role: str) -> Membership:
    """Give an existing user a role in a team (a new membership or a changed role)."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    membership, created = Membership.objects.update_or_create(
        user=user, team=team, defaults={"role": role}
    )
    logger.info("membership set team=%s user=%s role=%s new=%s", team.slug, user.pk, role, created)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Take a user out of a team; what they recorded stays in the logs, under their name."""
    logger.info(
        "membership removed team=%s user=%s role=%s",
        membership.team.slug,
        membership.user_id,
        membership.role,
    )
    membership.delete()
