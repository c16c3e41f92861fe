"""Reads for operational definitions. Access is checked in the views through funnel.selectors
(team_get_for_user); everything here is already scoped to one team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch
from django.http import Http404

from funnel.definitions.diff import VersionChange, version_changes
from funnel.models import (
    Agreement,
    DefinitionVersion,
    Membership,
    OperationalDefinition,
    Role,
    Stage,
    Team,
)


def definitions_for_team(*, team: Team) -> list[OperationalDefinition]:
    """The team's definitions, each with `current` (latest version), `agreed_current` (how many
    agreed to it) and what it defines (`stages`, `characteristics`), in four queries."""
    definitions = list(
        OperationalDefinition.objects.filter(team=team)
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=DefinitionVersion.objects.annotate(agreed=Count("agreements")).order_by(
                    "-number"
                ),
                to_attr="latest_first",
            ),
            "stages",
            "characteristics",
        )
        .order_by("term")
    )
    for definition in definitions:
        definition.current = definition.latest_first[0] if definition.latest_first else None
    return definitions


def definition_get(*, team: Team, slug: str) -> OperationalDefinition:
    definition = OperationalDefinition.objects.filter(team=team, slug=slug).first()
    if definition is None:
        raise Http404("No such definition.")
    return definition


@dataclass(frozen=True)
class VersionEntry:
    version: DefinitionVersion
    changes: tuple[VersionChange, ...]  # against the version before it
    agreed: tuple[str, ...]  # names of those who agreed to it


def definition_history(*, definition: OperationalDefinition) -> list[VersionEntry]:
    """Every version, newest first, with what changed against the one before."""
    versions = list(
        definition.versions.select_related("author")
        .prefetch_related("agreements__user")
        .order_by("number")
    )
    entries = []
    previous = None
    for version in versions:
        entries.append(
            VersionEntry(
                version=version,
                changes=tuple(version_changes(previous, version)) if previous else (),
                agreed=tuple(
                    a.user.get_full_name() or a.user.email
                    for a in sorted(version.agreements.all(), key=lambda a: a.agreed_at)
                ),
            )
        )
        previous = version
    return entries[::-1]


@dataclass(frozen=True)
class RosterLine:
    membership: Membership
    agreed_number: int | None  # the latest version they agreed to
    agreed_at: dt.datetime | None
    current: bool


def definition_roster(
    *, definition: OperationalDefinition, current: DefinitionVersion | None
) -> list[RosterLine]:
    """Reps and managers of the team, each with the latest version they agreed to."""
    members = (
        Membership.objects.filter(team=definition.team, role__in=[Role.REP, Role.MANAGER])
        .select_related("user")
        .order_by("role", "user__first_name", "user__email")
    )
    latest: dict[int, Agreement] = {}
    for agreement in Agreement.objects.filter(version__definition=definition).select_related(
        "version"
    ):
        held = latest.get(agreement.user_id)
        if held is None or agreement.version.number > held.version.number:
            latest[agreement.user_id] = agreement
    lines = []
    for m in members:
        agreement = latest.get(m.user_id)
        number = agreement.version.number if agreement else None
        lines.append(
            RosterLine(
                membership=m,
                agreed_number=number,
                agreed_at=agreement.agreed_at if agreement else None,
                current=current is not None and number == current.number,
            )
        )
    return lines


def definition_changes_for_stage(stage: Stage) -> list[dt.date]:
    """Dates from which the stage's definition changed (versions after the first): charts of the
    stage's metrics draw a divider there, since numbers either side are not the same measure."""
    if stage.definition_id is None:
        return []
    return list(
        DefinitionVersion.objects.filter(definition_id=stage.definition_id, number__gt=1)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
    )
