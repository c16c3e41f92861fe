"""The wizard's two helps on the mapping step: create the stages a file's labels name (for a new
team whose stages match none of them), and name owners known only by their CRM id from a second
file (a user export). Each changes the job's mapping only; a job already checked is checked again
with it. Nothing else is written when one fails."""

from __future__ import annotations

import logging

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from funnel.imports.facts import stage_values_fill, team_facts
from funnel.imports.mapping import mapping_complete
from funnel.imports.owners import owner_names_read
from funnel.imports.parsing import CsvUnreadable
from funnel.imports.service import (
    ImportRefused,
    import_job_validate,
    import_size_check,
    import_table,
)
from funnel.imports.sniff import file_refusal
from funnel.imports.stage_labels import (
    labels_in_funnel_order,
    labels_unmapped,
    slug_for,
    station_guess,
)
from funnel.imports.values import looks_like_id
from funnel.models import ImportJob, ImportStatus, Stage
from funnel.stages.services import OUTCOME_SLUGS, stage_create

logger = logging.getLogger(__name__)


def _mapping_save(job: ImportJob, mapping: dict) -> None:
    """The new mapping on the job; checked again when the job had been checked."""
    if job.status in (ImportStatus.VALID, ImportStatus.INVALID):
        import_job_validate(job=job, mapping=mapping)
    else:
        job.mapping = mapping
        job.save(update_fields=["mapping"])


def stages_to_create(*, job: ImportJob, mapping: dict | None = None) -> list[str]:
    """The file's stage labels that are mapped to nothing (outcomes left out), in its funnel
    order: what "Create these stages" would add."""
    mapping = mapping or job.mapping
    labels = labels_unmapped(mapping.get("stage_values") or {})
    if not labels:
        return []
    return labels_in_funnel_order(import_table(job=job), mapping, labels)


@transaction.atomic
def import_job_stages_create(
    *, job: ImportJob, by: AbstractBaseUser | None, mapping: dict | None = None
) -> list[Stage]:
    """Add the unmapped labels as the team's stages, at the end of its funnel in the file's
    order, and map them. The station is guessed from the label, else the one after the previous
    stage's; the stage editor changes it. `mapping`: the wizard's form as the manager left it
    (default: the job's). Returns the stages created (none when every label is mapped)."""
    table = import_table(job=job)
    mapping = mapping_complete(mapping or job.mapping, table.header)
    mapping = stage_values_fill(mapping, table, team_facts(team=job.team).stages)
    labels = stages_to_create(job=job, mapping=mapping)
    if not labels:
        return []
    team = job.team
    taken = set(Stage.objects.filter(team=team).values_list("slug", flat=True)) | OUTCOME_SLUGS
    last = Stage.objects.filter(team=team).in_funnel().order_by("position").last()
    previous = last.station if last else None
    created = []
    for label in labels:
        slug = slug_for(label, taken)
        taken.add(slug)
        station = station_guess(label, previous)
        try:
            stage = stage_create(team=team, slug=slug, name=label[:80], station=station, by=by)
        except ValidationError as error:  # a label no stage can take: nothing is kept
            reason = " ".join(error.messages)
            raise ImportRefused(f"Cannot create the stage {label!r}: {reason}") from error
        created.append(stage)
        previous = station
        mapping["stage_values"][label] = slug
    _mapping_save(job, mapping)
    logger.info(
        "import job=%s team=%s stages created from the file: %s",
        job.id,
        team.slug,
        ",".join(s.slug for s in created),
    )
    return created


def import_job_owner_names_set(*, job: ImportJob, content: bytes) -> tuple[int, int]:
    """Name the file's owner ids from a user export (an id column and a name column, guessed).
    Returns (ids in the import named, owner ids in the import). ImportRefused, nothing changed,
    for a file that is not such an export."""
    import_size_check(len(content))
    if refusal := file_refusal(content):
        raise ImportRefused(f"The owner file: {refusal}")
    try:
        names = owner_names_read(content)
    except CsvUnreadable as error:
        raise ImportRefused(str(error)) from error
    if not names:
        raise ImportRefused("The owner file has no row with both an id and a name.")
    table = import_table(job=job)
    mapping = mapping_complete(job.mapping, table.header)
    owner = next((n for n, t in mapping["columns"].items() if t == "owner"), None)
    ids: set[str] = set()
    if owner is not None:
        i = table.header.index(owner)
        ids = {c[i].strip() for _, c in table.rows if looks_like_id(c[i].strip())}
    mapping["owner_names"] = names
    _mapping_save(job, mapping)
    logger.info(
        "import job=%s team=%s owner names=%d, of the file's %d owner ids %d named",
        job.id,
        job.team.slug,
        len(names),
        len(ids),
        len(ids & names.keys()),
    )
    return len(ids & names.keys()), len(ids)
