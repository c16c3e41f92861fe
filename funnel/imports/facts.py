"""What a file is checked against: the team's stages, characteristics and members as plain
values, and the mapping for a header (the one saved for it, else a guess)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from funnel.imports.mapping import (
    CharacteristicRef,
    StageRef,
    mapping_complete,
    stage_value_guess,
)
from funnel.imports.parsing import CsvTable, header_signature
from funnel.imports.plan import CharacteristicFacts, TeamFacts
from funnel.imports.presets import mapping_propose
from funnel.models import Characteristic, ImportMapping, Membership, Role, Stage, Team


def team_facts(*, team: Team) -> TeamFacts:
    stages = tuple(
        StageRef(slug, name)
        for slug, name in Stage.objects.filter(team=team)
        .order_by("position")
        .values_list("slug", "name")
    )
    characteristics = {
        c.slug: CharacteristicFacts(c.slug, c.name, c.kind, tuple(c.choices or ()))
        for c in Characteristic.objects.filter(team=team)
    }
    owners: dict[str, str] = {}
    for email, first, last in Membership.objects.filter(
        team=team, role__in=[Role.REP, Role.MANAGER]
    ).values_list("user__email", "user__first_name", "user__last_name"):
        owners[email.lower()] = email
        full = f"{first} {last}".strip().lower()
        if full:
            owners.setdefault(full, email)
    return TeamFacts(
        stages=stages,
        characteristics=characteristics,
        owners=owners,
        now=timezone.now(),
        tz=timezone.get_default_timezone(),
    )


def characteristic_refs(facts: TeamFacts) -> list[CharacteristicRef]:
    return [CharacteristicRef(c.slug, c.name) for c in facts.characteristics.values()]


def stage_values_fill(mapping: dict, table: CsvTable, stages: Sequence[StageRef]) -> dict:
    """Every distinct value of the stage column gets an entry (guessed when new)."""
    column = next((n for n, t in mapping["columns"].items() if t == "stage"), None)
    if column is None:
        return mapping
    i = table.header.index(column)
    values = dict.fromkeys(cells[i].strip() for _, cells in table.rows if cells[i].strip())
    known = mapping["stage_values"]
    mapping["stage_values"] = {
        v: known[v] if v in known else stage_value_guess(v, stages) for v in values
    }
    return mapping


def mapping_for_table(*, team: Team, table: CsvTable, facts: TeamFacts) -> tuple[dict, bool]:
    """The saved mapping for this header if there is one (True), else a guess (False)."""
    saved = ImportMapping.objects.filter(
        team=team, header_signature=header_signature(table.header)
    ).first()
    if saved is not None:
        mapping = mapping_complete(saved.mapping, table.header)
    else:
        sample = [cells for _, cells in table.rows[:200]]
        mapping = mapping_propose(
            table.header,
            sample,
            stages=facts.stages,
            characteristics=characteristic_refs(facts),
        )
    return stage_values_fill(mapping, table, facts.stages), saved is not None
