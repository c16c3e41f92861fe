"""Writes to a team's settings."""

import logging
from decimal import Decimal

from django.db import transaction

from funnel.models import Team

logger = logging.getLogger(__name__)


@transaction.atomic
def team_settings_update(
    *, team: Team, name: str, currency: str, winnable_min_difference: Decimal, by
) -> Team:
    team.name = name
    team.currency = currency
    team.winnable_min_difference = winnable_min_difference
    team.full_clean()
    team.save(update_fields=["name", "currency", "winnable_min_difference"])
    logger.info(
        "team settings saved: team=%s currency=%s winnable_min_difference=%s by=%s",
        team.slug,
        currency,
        winnable_min_difference,
        getattr(by, "pk", None),
    )
    return team
