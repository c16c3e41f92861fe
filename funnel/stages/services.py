"""Writes for a team's stages. One transaction each; every change to what enters the team's
figures schedules its recompute.

Not in funnel.services: the pipeline imports that module (a deal's position), and a write here
must ask the pipeline for the recompute, so the two cannot import each other.
"""

from __future__ import annotations

import logging
import re
import time
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max

from funnel.models import OperationalDefinition, Outcome, Stage, Station, Team
from funnel.pipeline.request import team_rebuild_on_commit, team_recompute_on_commit

logger = logging.getLogger(__name__)

CONVERSION_STEP = Decimal("0.001")
MAX_TARGET_DAYS = 365
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
OUTCOME_SLUGS = frozenset(Outcome.values)


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


MAX_NAME = 80


def stage_fields_errors(
    *, name: str, station: str, target_conversion: Decimal | None, target_days: int | None
) -> dict[str, str]:
    """What is wrong with a stage's editable fields, by field; empty when nothing is."""
    errors = {}
    if not name.strip():
        errors["name"] = "A stage needs a name."
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    if station not in Station.values:
        errors["station"] = f"Unknown station {station!r}; use one of {', '.join(Station.values)}."
    if target_conversion is not None and not 0 < target_conversion <= 1:
        errors["target_conversion"] = "A target conversion is above 0 and at most 1."
    if target_days is not None and not 1 <= target_days <= MAX_TARGET_DAYS:
        errors["target_days"] = f"Enter a number of days between 1 and {MAX_TARGET_DAYS}."
    return errors


def stage_slug_errors(*, team: Team, slug: str) -> dict[str, str]:
    if not SLUG.fullmatch(slug or ""):
        return {"slug": "Use lower-case letters, digits and hyphens (at most 50), e.g. demo-held."}
    if slug in OUTCOME_SLUGS:
        return {"slug": f"{slug!r} is an outcome, not a stage."}
    if Stage.objects.filter(team=team, slug=slug).exists():
        return {"slug": f"The team already has a stage {slug!r} (perhaps retired or merged)."}
    return {}


def _quantized(value: Decimal | float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CONVERSION_STEP)


def rebuild_on_commit(*, team_id: int) -> None:
    """A change to which stages the events count in: the team's passages are re-derived from
    the log once it commits (the rebuild recomputes the figures too). A broker that is down
    never fails the committed change: the nightly rebuild does it then."""
    team_rebuild_on_commit(team_id=team_id)


@transaction.atomic
def stage_create(
    *,
    team: Team,
    slug: str,
    name: str,
    station: str,
    target_conversion: Decimal | None = None,
    target_days: int | None = None,
    by: AbstractBaseUser | None,
) -> Stage:
    """Add a stage at the end of the funnel, with an operational definition to write. A won
    deal has passed every stage, so the team's passages are rebuilt."""
    target_conversion = _quantized(target_conversion)
    errors = stage_slug_errors(team=team, slug=slug) | stage_fields_errors(
        name=name, station=station, target_conversion=target_conversion, target_days=target_days
    )
    if errors:
        raise ValidationError(errors)
    Team.objects.select_for_update().filter(id=team.id).first()
    last = Stage.objects.filter(team=team).aggregate(p=Max("position"))["p"] or 0
    definition, _ = OperationalDefinition.objects.get_or_create(
        team=team, slug=f"stage-{slug}", defaults={"term": name.strip()}
    )
    stage = Stage.objects.create(
        team=team,
        slug=slug,
        name=name.strip(),
        station=station,
        position=last + 1,
        definition=definition,
        target_conversion=target_conversion,
        target_days=target_days,
    )
    rebuild_on_commit(team_id=team.id)
    logger.info("stage added team=%s stage=%s by=%s", team.slug, slug, by.pk if by else None)
    return stage


@transaction.atomic
def stage_update(
    *,
    stage: Stage,
    name: str,
    station: str,
    target_conversion: Decimal | None,
    target_days: int | None,
    by: AbstractBaseUser | None,
) -> list[str]:
    """Rename a stage (its slug, and so its history, stay), move it to another station, set
    its targets. Returns the fields that changed; the verdict is recomputed when any did (the
    counts do not change: events point to the stage, not its name)."""
    target_conversion = _quantized(target_conversion)
    errors = stage_fields_errors(
        name=name, station=station, target_conversion=target_conversion, target_days=target_days
    )
    if errors:
        raise ValidationError(errors)
    new = {
        "name": name.strip(),
        "station": station,
        "target_conversion": target_conversion,
        "target_days": target_days,
    }
    changed = [f for f, value in new.items() if getattr(stage, f) != value]
    if not changed:
        return []
    for field in changed:
        setattr(stage, field, new[field])
    stage.save(update_fields=changed)
    team_recompute_on_commit(team_id=stage.team_id)
    logger.info(
        "stage edited team=%s stage=%s changed=%s by=%s",
        stage.team_id,
        stage.slug,
        ",".join(changed),
        by.pk if by else None,
    )
    return changed


def stages_renumber(*, team: Team, order: list[int]) -> bool:
    """Put the stages `order` (ids) in that order, positions 1, 2, ...; the others (merged
    stages) after them. Nothing is written when they are so already. Two steps, so the unique
    (team, position) never sees a clash. True if a position changed."""
    current = dict(Stage.objects.filter(team=team).values_list("id", "position"))
    rest = sorted((i for i in current if i not in order), key=current.get)
    wanted = {stage_id: n for n, stage_id in enumerate([*order, *rest], start=1)}
    moved = [i for i, p in wanted.items() if current[i] != p]
    if not moved:
        return False
    top = max(current.values()) + len(current) + 1
    Stage.objects.filter(id__in=moved).update(position=F("position") + top)
    for stage_id in moved:
        Stage.objects.filter(id=stage_id).update(position=wanted[stage_id])
    return True


@transaction.atomic
def stage_move(*, stage: Stage, up: bool, by: AbstractBaseUser | None) -> bool:
    """Swap a stage with its neighbour in the funnel (retired stages keep a place; merged ones
    have none). The order decides which stages a deal passed, so the team is rebuilt. False
    when it is first (up) or last (down) already."""
    Team.objects.select_for_update().filter(id=stage.team_id).first()
    order = list(
        Stage.objects.filter(team_id=stage.team_id)
        .in_funnel()
        .order_by("position")
        .values_list("id", flat=True)
    )
    i = order.index(stage.id)
    j = i - 1 if up else i + 1
    if not 0 <= j < len(order):
        return False
    order[i], order[j] = order[j], order[i]
    stages_renumber(team=stage.team, order=order)
    rebuild_on_commit(team_id=stage.team_id)
    logger.info(
        "stage moved team=%s stage=%s %s by=%s",
        stage.team_id,
        stage.slug,
        "up" if up else "down",
        by.pk if by else None,
    )
    return True
