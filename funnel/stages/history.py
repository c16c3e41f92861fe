"""Retiring and merging stages without rewriting history.

The event log is append-only: neither writes an event. A retired stage keeps its place and its
past counts and takes no new events (the ingest refuses them by name). A merge is recorded on the
merged stage (`merged_into`); the passage derivation reads its events as the target's, in all
history (funnel.pipeline.passages.StageMaps), so after the rebuild every count is as if those
events had named the target, and the log still says what was recorded.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from funnel.models import Deal, Stage, Team
from funnel.stages.services import rebuild_on_commit, stages_renumber

logger = logging.getLogger(__name__)


def _by(by: AbstractBaseUser | None) -> object:
    return by.pk if by is not None else None


@transaction.atomic
def stage_retire(
    *, stage: Stage, by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> Stage:
    """Retire a stage: deals opened from now on do not pass it; its past counts stay."""
    if stage.merged_into_id is not None:
        raise ValidationError("A merged stage is out of the funnel already.")
    if stage.retired_at is not None:
        raise ValidationError(f"{stage.name} is retired already.")
    active = Stage.objects.filter(team_id=stage.team_id).taking_events().exclude(id=stage.id)
    if not active.exists():
        raise ValidationError("A team needs at least one stage that takes events.")
    stage.retired_at = now or timezone.now()
    stage.save(update_fields=["retired_at"])
    rebuild_on_commit(team_id=stage.team_id)
    logger.info("stage retired team=%s stage=%s by=%s", stage.team_id, stage.slug, _by(by))
    return stage


@transaction.atomic
def stage_restore(*, stage: Stage, by: AbstractBaseUser | None) -> Stage:
    """Take a retired stage back into use."""
    if stage.retired_at is None or stage.merged_into_id is not None:
        raise ValidationError(f"{stage.name} is not retired.")
    stage.retired_at = None
    stage.save(update_fields=["retired_at"])
    rebuild_on_commit(team_id=stage.team_id)
    logger.info("stage restored team=%s stage=%s by=%s", stage.team_id, stage.slug, _by(by))
    return stage


@transaction.atomic
def stage_merge(
    *, stage: Stage, into: Stage, by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> Stage:
    """Merge `stage` into `into`: its events, past and future, count for `into`. Stages merged
    into `stage` before follow it. Deals whose cached current stage is `stage` are moved to
    `into` (a cache of the log, not the log). The team is rebuilt once this commits."""
    Team.objects.select_for_update().filter(id=stage.team_id).first()
    if into.team_id != stage.team_id:
        raise ValidationError({"into": "Merge into a stage of the same team."})
    if into.id == stage.id:
        raise ValidationError({"into": "Choose another stage to merge into."})
    if stage.merged_into_id is not None:
        raise ValidationError(f"{stage.name} was merged already.")
    if not into.takes_events:
        raise ValidationError(
            {"into": f"{into.name} is retired or merged: choose an active stage."}
        )
    moment = now or timezone.now()
    Stage.objects.filter(merged_into=stage).update(merged_into=into)
    stage.merged_into = into
    stage.merged_at = moment
    stage.save(update_fields=["merged_into", "merged_at"])
    # Out of the funnel: behind the stages that are in it.
    stages_renumber(
        team=stage.team,
        order=list(
            Stage.objects.filter(team_id=stage.team_id)
            .in_funnel()
            .order_by("position")
            .values_list("id", flat=True)
        ),
    )
    moved = Deal.objects.filter(team_id=stage.team_id, current_stage=stage).update(
        current_stage=into
    )
    rebuild_on_commit(team_id=stage.team_id)
    logger.info(
        "stage merged team=%s stage=%s into=%s deals_moved=%d by=%s",
        stage.team_id,
        stage.slug,
        into.slug,
        moved,
        _by(by),
    )
    return stage
