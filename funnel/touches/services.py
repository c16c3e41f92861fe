"""Writes: a team's tactics and response rules, a rep's one-tap touch and the prospect's answer."""

from __future__ import annotations

import logging
import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from funnel.models import (
    Deal,
    DefinitionVersion,
    OperationalDefinition,
    Origin,
    ResponseRule,
    Tactic,
    Team,
    Touch,
)
from funnel.pipeline.request import team_tactics_stale_on_commit
from funnel.touches.defaults import DEFAULT_TACTICS, DEFAULT_WINDOW_DAYS
from funnel.touches.selectors import tactics_settings_changed

logger = logging.getLogger(__name__)


def _first_version(definition, template, *, today, author) -> None:
    DefinitionVersion.objects.create(
        definition=definition,
        number=1,
        meaning=template.meaning,
        criteria=list(template.criteria),
        how_measured=template.how_measured,
        examples=template.examples,
        non_examples=template.non_examples,
        effective_from=today,
        author=author,
    )


@transaction.atomic
def tactics_create_defaults(*, team: Team, author: AbstractBaseUser | None = None) -> list[Tactic]:
    """The default tactics, each with its response definition (version 1) and rule (version 1)."""
    today = timezone.localdate()
    tactics = []
    for position, template in enumerate(DEFAULT_TACTICS, start=1):
        # A definition kept from a tactic since deleted is taken up again, with its versions.
        definition, fresh = OperationalDefinition.objects.get_or_create(
            team=team,
            slug=f"response-{template.slug}",
            defaults={"term": f"Response to: {template.name}"},
        )
        if fresh:
            _first_version(definition, template, today=today, author=author)
        tactic = Tactic.objects.create(
            team=team,
            slug=template.slug,
            name=template.name,
            channel=template.channel,
            definition=definition,
            position=position,
        )
        ResponseRule.objects.create(
            tactic=tactic, number=1, window_days=DEFAULT_WINDOW_DAYS, author=author
        )
        tactics.append(tactic)
    return tactics


def tactics_defaults_for_teams_without() -> list[str]:
    """Teams that never had a tactic (made before touches existed) get the defaults, so an
    upgraded installation has a tactics page and takes touches. Run after every migrate; a team
    that has tactics, even all retired, is left as it is. Returns the teams' slugs."""
    slugs = []
    for team in Team.objects.filter(tactics__isnull=True).distinct():
        tactics_create_defaults(team=team)
        slugs.append(team.slug)
    if slugs:
        logger.info("default tactics added for teams made before touches: %s", slugs)
    return slugs


def tactics_defaults_after_migrate(sender, **kwargs) -> None:
    """post_migrate receiver (connected in FunnelConfig.ready)."""
    tactics_defaults_for_teams_without()


@transaction.atomic
def tactic_create(
    *,
    team: Team,
    slug: str,
    name: str,
    channel: str,
    cost_per_touch=None,
    window_days: int | None = None,
    by: AbstractBaseUser | None = None,
) -> Tactic:
    """A tactic with its first response rule (no window: only recorded answers count)."""
    position = (Tactic.objects.filter(team=team).aggregate(p=Max("position"))["p"] or 0) + 1
    tactic = Tactic.objects.create(
        team=team,
        slug=slug,
        name=name,
        channel=channel,
        cost_per_touch=cost_per_touch,
        position=position,
    )
    ResponseRule.objects.create(tactic=tactic, number=1, window_days=window_days, author=by)
    logger.info("tactic created team=%s tactic=%s", team.slug, slug)
    return tactic


@transaction.atomic
def response_rule_set(
    *, tactic: Tactic, window_days: int | None, by: AbstractBaseUser | None, note: str = ""
) -> ResponseRule:
    """A new version of the tactic's rule; the old ones stay as its history."""
    Tactic.objects.select_for_update().get(pk=tactic.pk)  # one version number at a time
    latest = tactic.response_rules.aggregate(n=Max("number"))["n"] or 0
    rule = ResponseRule.objects.create(
        tactic=tactic, number=latest + 1, window_days=window_days, note=note, author=by
    )
    team_tactics_stale_on_commit(team_id=tactic.team_id)  # the rule re-judges every touch
    logger.info(
        "response rule set team=%s tactic=%s v%d window=%s",
        tactic.team.slug if tactic.team_id else "",
        tactic.slug,
        rule.number,
        window_days,
    )
    return rule


def touch_record(
    *, deal: Deal, tactic: Tactic, by: AbstractBaseUser, responded: bool | None = None
) -> Touch:
    """A rep's touch on a deal, now. The tactic must be the deal's team's (the view checks it
    through the team's tactic list; checked again here, since a write must never cross teams)."""
    if tactic.team_id != deal.team_id:
        raise ValueError("The tactic belongs to another team.")
    now = timezone.now()
    touch = Touch.objects.create(
        team_id=deal.team_id,
        touch_id=f"ui-{uuid.uuid4()}",
        tactic=tactic,
        channel=tactic.channel,
        deal=deal,
        occurred_at=now,
        responded=responded,
        responded_at=now if responded else None,
        origin=Origin.UI,
        recorded_by=by,
    )
    team_tactics_stale_on_commit(team_id=deal.team_id)
    logger.info("touch recorded team=%s deal=%s tactic=%s", deal.team_id, deal.id, tactic.slug)
    return touch


def touch_response_set(*, touch: Touch, responded: bool | None) -> Touch:
    """Record whether the prospect answered this touch (None: not known, the rule decides)."""
    touch.responded = responded
    touch.responded_at = timezone.now() if responded else None
    touch.save(update_fields=["responded", "responded_at"])
    team_tactics_stale_on_commit(team_id=touch.team_id)
    logger.info("touch response team=%s touch=%s responded=%s", touch.team_id, touch.pk, responded)
    return touch


@transaction.atomic
def tactic_update(
    *,
    tactic: Tactic,
    name: str,
    channel: str,
    cost_per_touch,
    window_days: int | None,
    is_active: bool,
    by: AbstractBaseUser,
) -> Tactic:
    """Change a tactic's settings; a changed window is a new version of its response rule."""
    tactic.name, tactic.channel = name, channel
    tactic.cost_per_touch, tactic.is_active = cost_per_touch, is_active
    tactic.save(update_fields=["name", "channel", "cost_per_touch", "is_active"])
    current = tactic.response_rules.order_by("-number").first()
    if current is None or current.window_days != window_days:
        response_rule_set(tactic=tactic, window_days=window_days, by=by)
    transaction.on_commit(lambda: tactics_settings_changed(team_id=tactic.team_id))
    logger.info("tactic updated team=%s tactic=%s", tactic.team_id, tactic.slug)
    return tactic
