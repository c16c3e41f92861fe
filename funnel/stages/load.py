"""Replacing a team's stage list from a JSON list in funnel order (manage.py stages_load,
PUT /api/v1/stages).

    [{"slug": "submitted", "name": "Submitted", "station": "market",
      "target_conversion": 0.5, "target_days": 7}, ...]

The whole list is checked first; any error (by item index and field) changes nothing. Listed
stages are created or updated and put in the list's order; a listed retired stage is taken back
into use. A stage the list leaves out is retired (kept for its history) or, when nothing ever
referred to it (no event, no merged stage, no cycle), deleted. Retired stages keep their place
after the listed stage they followed, so loading the list a team already has (GET's answer)
writes nothing and rebuilds nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.models import OperationalDefinition, Stage, StageEvent, Team
from funnel.stages.services import (
    CONVERSION_STEP,
    OUTCOME_SLUGS,
    SLUG,
    rebuild_on_commit,
    stage_fields_errors,
    stages_renumber,
)

logger = logging.getLogger(__name__)

KEYS = {"slug", "name", "station", "target_conversion", "target_days"}


@dataclass(frozen=True)
class StageItem:
    slug: str
    name: str
    station: str
    target_conversion: Decimal | None
    target_days: int | None


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"item {self.index}, {self.field}: {self.message}"


class StageListError(ValueError):
    def __init__(self, errors: list[ItemError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass
class LoadResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    reordered: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.created
            or self.updated
            or self.restored
            or self.retired
            or self.deleted
            or self.reordered
        )

    def summary(self) -> str:
        if not self.changed:
            return "No change: the team has this stage list already."
        parts = [
            f"{label} {', '.join(slugs)}"
            for label, slugs in (
                ("added", self.created),
                ("updated", self.updated),
                ("restored", self.restored),
                ("retired", self.retired),
                ("deleted", self.deleted),
            )
            if slugs
        ]
        if self.reordered:
            parts.append("reordered")
        return "Stages " + "; ".join(parts) + "."


def _conversion(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    return Decimal(str(value)).quantize(CONVERSION_STEP)


def stage_items_parse(data: object) -> list[StageItem]:
    """The items of a stage list, or StageListError naming each bad item and field."""
    if not isinstance(data, list) or not data:
        raise StageListError([ItemError(0, "list", "Give a non-empty JSON list of stages.")])
    errors: list[ItemError] = []
    items: list[StageItem] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data):
        if not isinstance(raw, dict):
            errors.append(ItemError(i, "item", "Each item is an object with slug, name, station."))
            continue
        bad: dict[str, str] = {}
        for key in sorted(set(raw) - KEYS):
            bad[key] = f"Unknown field; use {', '.join(sorted(KEYS))}."
        slug, name, station = raw.get("slug"), raw.get("name"), raw.get("station")
        if not isinstance(slug, str) or not SLUG.fullmatch(slug):
            bad["slug"] = "Lower-case letters, digits and hyphens, at most 50, e.g. demo-held."
        elif slug in OUTCOME_SLUGS:
            bad["slug"] = f"{slug!r} is an outcome, not a stage."
        elif slug in seen:
            bad["slug"] = f"{slug!r} is listed twice (first as item {seen[slug]})."
        else:
            seen[slug] = i
        conversion = days = None
        try:
            if raw.get("target_conversion") is not None:
                conversion = _conversion(raw["target_conversion"])
        except (ValueError, InvalidOperation):
            bad["target_conversion"] = "A number above 0 and at most 1, or null."
        value = raw.get("target_days")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            bad["target_days"] = "A whole number of days, or null."
        else:
            days = value
        field_errors = stage_fields_errors(
            name=name if isinstance(name, str) else "",
            station=station if isinstance(station, str) else "",
            target_conversion=conversion,
            target_days=days,
        )
        for key, message in field_errors.items():
            bad.setdefault(key, message)
        errors += [ItemError(i, key, message) for key, message in bad.items()]
        if not bad:
            items.append(StageItem(slug, name.strip(), station, conversion, days))
    if errors:
        raise StageListError(errors)
    return items


def stage_list_of_team(*, team: Team) -> list[dict]:
    """The team's stages that take events, in funnel order, as the list format."""
    return [
        {
            "slug": s.slug,
            "name": s.name,
            "station": s.station,
            "target_conversion": float(s.target_conversion)
            if s.target_conversion is not None
            else None,
            "target_days": s.target_days,
        }
        for s in Stage.objects.filter(team=team).taking_events().order_by("position")
    ]


def _order_with_unlisted(old: list[int], listed: list[int]) -> list[int]:
    """The listed ids in their order, each unlisted one right after the stage it followed."""
    order = list(listed)
    placed = set(listed)
    for i, stage_id in enumerate(old):
        if stage_id in placed:
            continue
        before = next((s for s in reversed(old[:i]) if s in placed), None)
        order.insert(order.index(before) + 1 if before is not None else 0, stage_id)
        placed.add(stage_id)
    return order


def _referred_to(stage: Stage) -> bool:
    return (
        StageEvent.objects.filter(team_id=stage.team_id, stage_id=stage.id).exists()
        or stage.merged_stages.exists()
        or stage.cycles.exists()
        or stage.bottleneckstatus_set.exists()
    )


@transaction.atomic
def stages_replace(*, team: Team, data: object, by: AbstractBaseUser | None = None) -> LoadResult:
    """Make the team's stage list the given one (see the module's doc). Raises StageListError
    (nothing written) for a bad list."""
    started = time.perf_counter()
    items = stage_items_parse(data)
    Team.objects.select_for_update().filter(id=team.id).first()
    stages = {s.slug: s for s in Stage.objects.filter(team=team).order_by("position")}
    merged = [
        ItemError(i, "slug", f"{item.slug!r} was merged into another stage; list that one.")
        for i, item in enumerate(items)
        if item.slug in stages and stages[item.slug].merged_into_id is not None
    ]
    if merged:
        raise StageListError(merged)
    result = LoadResult()
    now = timezone.now()
    last = max((s.position for s in stages.values()), default=0)
    for item in items:
        stage = stages.get(item.slug)
        if stage is None:
            last += 1
            definition, _ = OperationalDefinition.objects.get_or_create(
                team=team, slug=f"stage-{item.slug}", defaults={"term": item.name}
            )
            stages[item.slug] = Stage.objects.create(
                team=team, position=last, definition=definition, **vars(item)
            )
            result.created.append(item.slug)
            continue
        new = {k: v for k, v in vars(item).items() if k != "slug"}
        changed = [k for k, v in new.items() if getattr(stage, k) != v]
        if stage.retired_at is not None:
            stage.retired_at = None
            changed.append("retired_at")
            result.restored.append(item.slug)
        elif changed:
            result.updated.append(item.slug)
        if changed:
            for k in changed:
                if k in new:
                    setattr(stage, k, new[k])
            stage.save(update_fields=changed)
    listed = {item.slug for item in items}
    for slug, stage in list(stages.items()):
        if slug in listed or not stage.takes_events:
            continue
        if _referred_to(stage):
            stage.retired_at = now
            stage.save(update_fields=["retired_at"])
            result.retired.append(slug)
        else:
            stage.delete()
            del stages[slug]
            result.deleted.append(slug)
    in_funnel = [s.id for s in stages.values() if s.merged_into_id is None]
    result.reordered = stages_renumber(
        team=team,
        order=_order_with_unlisted(in_funnel, [stages[item.slug].id for item in items]),
    )
    if result.changed:
        rebuild_on_commit(team_id=team.id)
    logger.info(
        "stages load team=%s %s by=%s in %.0f ms",
        team.slug,
        result.summary(),
        by.pk if by is not None else None,
        (time.perf_counter() - started) * 1000,
    )
    return result
