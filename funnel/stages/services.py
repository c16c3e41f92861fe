"""Writes for a team's stages. One transaction each; every change to what enters the team's
figures schedules its recompute.

Not in funnel.services: the pipeline imports that module (a deal's position), and a write here
must ask the pipeline for the recompute, so the two cannot import each other.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from funnel.models import Stage
from funnel.pipeline.request import team_recompute_on_commit

logger = logging.getLogger(__name__)

CONVERSION_STEP = Decimal("0.001")
MAX_TARGET_DAYS = 365


@transaction.atomic
def stage_targets_set(
    *,
    stage: Stage,
    target_conversion: Decimal | None,
    target_days: int | None,
    by: AbstractBaseUser | None,
) -> Stage:
    """Set a stage's targets (conversion as a share, 0-1; days in stage, 1-365; None clears
    one). Both enter the team's verdict, so its recompute is scheduled for the commit.

    Raises ValidationError (nothing written) for a target out of range.
    """
    started = time.perf_counter()
    errors = {}
    if target_conversion is not None:
        target_conversion = Decimal(target_conversion).quantize(CONVERSION_STEP)
        if not 0 < target_conversion <= 1:
            errors["target_conversion"] = "A target conversion is above 0 and at most 1."
    if target_days is not None and not 1 <= target_days <= MAX_TARGET_DAYS:
        errors["target_days"] = f"Enter a number of days between 1 and {MAX_TARGET_DAYS}."
    if errors:
        raise ValidationError(errors)
    stage.target_conversion = target_conversion
    stage.target_days = target_days
    stage.save(update_fields=["target_conversion", "target_days"])
    team_recompute_on_commit(team_id=stage.team_id)
    logger.info(
        "stage targets team=%s stage=%s conversion=%s days=%s by=%s in %.0f ms",
        stage.team_id,
        stage.slug,
        target_conversion,
        target_days,
        by.pk if by is not None else None,
        (time.perf_counter() - started) * 1000,
    )
    return stage
