"""CSV import jobs: create (size-checked, mapping guessed or saved), validate (writes no deal
data), run (in chunks, each committed with its progress). The browser and `manage.py
import_csv` both go through these functions; events go in through `stage_events_ingest`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from funnel.imports.mapping import (
    CharacteristicRef,
    StageRef,
    mapping_complete,
    mapping_guess,
    stage_value_guess,
)
from funnel.imports.parsing import CsvTable, CsvUnreadable, csv_parse, header_signature
from funnel.imports.plan import CharacteristicFacts, ImportPlan, TeamFacts
from funnel.imports.rows import import_plan
from funnel.imports.writes import (
    import_characteristics_prepare,
    import_owners_create,
    observations_record,
)
from funnel.ingest import IngestRejected, IngestResult, stage_events_ingest
from funnel.models import (
    Characteristic,
    ImportJob,
    ImportMapping,
    ImportStatus,
    Membership,
    Origin,
    Role,
    Stage,
    Team,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK_ROWS = 5000
STORED_ERRORS = 10_000  # a job keeps this many errors; error_count has the true total
PREVIEW_ROWS = 10


class ImportRefused(Exception):
    """The file cannot be imported at all (too large, not a CSV table)."""


def import_max_bytes() -> int:
    return int(getattr(settings, "CSV_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def import_size_check(size: int) -> None:
    """Refuse a file over the limit before a single row is parsed."""
    limit = import_max_bytes()
    if size > limit:
        raise ImportRefused(
            f"The file has {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB. "
            "Split it into smaller files (each keeps the header row)."
        )


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
        mapping = mapping_guess(
            table.header,
            sample,
            stages=facts.stages,
            characteristics=characteristic_refs(facts),
        )
    return stage_values_fill(mapping, table, facts.stages), saved is not None


def _table(content: bytes) -> CsvTable:
    try:
        return csv_parse(content)
    except CsvUnreadable as error:
        raise ImportRefused(str(error)) from error


def import_job_create(
    *, team: Team, uploaded_by: AbstractBaseUser | None, filename: str, content: bytes
) -> ImportJob:
    """Store an uploaded file with a mapping guessed from its header (or saved for it)."""
    import_size_check(len(content))
    table = _table(content)
    mapping, _ = mapping_for_table(team=team, table=table, facts=team_facts(team=team))
    return ImportJob.objects.create(
        team=team,
        uploaded_by=uploaded_by,
        filename=filename[:255],
        content=content,
        size=len(content),
        shape=mapping["shape"],
        mapping=mapping,
        total_rows=len(table.rows),
    )


def _plan(
    job: ImportJob, mapping: dict, *, fill_stage_values: bool = False
) -> tuple[CsvTable, dict, ImportPlan]:
    table = _table(bytes(job.content))
    facts = team_facts(team=job.team)
    mapping = mapping_complete(mapping, table.header)
    if fill_stage_values:
        # The stage column may have changed: its labels get guesses where none was given.
        mapping = stage_values_fill(mapping, table, facts.stages)
    return table, mapping, import_plan(table, mapping, facts)


def _plan_summary(plan: ImportPlan) -> dict:
    return {
        "rows": len(plan.rows),
        "events": plan.event_count,
        "observations": plan.observation_count,
        "skipped_rows": plan.skipped_rows,
        "owners_to_create": sorted(plan.owners_to_create),
        "new_characteristics": [name for name, _ in plan.new_characteristics.values()],
    }


def import_job_validate(*, job: ImportJob, mapping: dict) -> ImportPlan:
    """Check every row against the mapping; record the verdict on the job. No deal data is
    written, so a file with errors leaves the team exactly as it was."""
    table, mapping, plan = _plan(job, mapping, fill_stage_values=True)
    job.mapping = mapping
    job.shape = mapping["shape"]
    job.total_rows = len(table.rows)
    job.errors = [e.as_dict() for e in plan.errors[:STORED_ERRORS]]
    job.error_count = len(plan.errors)
    job.status = ImportStatus.INVALID if plan.errors else ImportStatus.VALID
    job.summary = _plan_summary(plan)
    job.save(
        update_fields=[
            "mapping",
            "shape",
            "total_rows",
            "errors",
            "error_count",
            "status",
            "summary",
        ]
    )
    return plan


def import_job_queue(*, job: ImportJob) -> ImportJob:
    """Hand a validated job to a worker, after this transaction commits."""
    from funnel.tasks import import_job_run_task

    if job.status != ImportStatus.VALID:
        raise ImportRefused("Validate the file before importing it.")
    job.status = ImportStatus.QUEUED
    job.processed_rows = 0
    job.save(update_fields=["status", "processed_rows"])
    job_id = job.id
    transaction.on_commit(lambda: import_job_run_task.delay(job_id))
    return job


def _job_update(job: ImportJob, **values) -> None:
    for name, value in values.items():
        setattr(job, name, value)
    ImportJob.objects.filter(id=job.id).update(**values)


def import_job_run(
    *,
    job: ImportJob,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Import a job's rows in chunks. Each chunk commits with the job's progress, so the
    progress bar moves; event ids make a re-run after a crash add only what is missing."""
    _job_update(job, status=ImportStatus.RUNNING, started_at=timezone.now(), processed_rows=0)
    started = time.perf_counter()
    table, mapping, plan = _plan(job, job.mapping)
    planned = time.perf_counter() - started
    if plan.errors:
        _job_update(
            job,
            status=ImportStatus.INVALID,
            errors=[e.as_dict() for e in plan.errors[:STORED_ERRORS]],
            error_count=len(plan.errors),
            finished_at=timezone.now(),
        )
        return job
    try:
        totals = _run_chunks(
            job=job,
            table=table,
            mapping=mapping,
            plan=plan,
            size=chunk_rows,
            on_progress=on_progress,
        )
    except IngestRejected as rejected:
        _job_update(
            job,
            status=ImportStatus.FAILED,
            errors=[{"row": 0, "column": e.field, "message": e.message} for e in rejected.errors],
            error_count=len(rejected.errors),
            finished_at=timezone.now(),
        )
        return job
    except Exception as error:
        _job_update(
            job,
            status=ImportStatus.FAILED,
            summary={**job.summary, "failure": str(error)[:500]},
            finished_at=timezone.now(),
        )
        raise
    totals["seconds"]["read_and_check"] = round(planned, 3)
    totals["seconds"]["total"] = round(time.perf_counter() - started, 3)
    _job_update(
        job,
        status=ImportStatus.DONE,
        processed_rows=len(table.rows),
        summary=totals,
        errors=[],
        error_count=0,
        finished_at=timezone.now(),
    )
    return job


def _run_chunks(*, job, table, mapping, plan: ImportPlan, size: int, on_progress) -> dict:
    team = job.team
    by = job.uploaded_by
    with transaction.atomic():
        owners = import_owners_create(team=team, owners=plan.owners_to_create)
        characteristic_ids = import_characteristics_prepare(team=team, plan=plan)
        ImportMapping.objects.update_or_create(
            team=team,
            header_signature=header_signature(table.header),
            defaults={"shape": mapping["shape"], "mapping": mapping},
        )
    total = IngestResult()
    observations = 0
    seconds = {"events": 0.0, "observations": 0.0}
    for start in range(0, len(plan.rows), size):
        chunk = plan.rows[start : start + size]
        events = [event for _, row_events, _ in chunk for event in row_events]
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            clock = time.perf_counter()
            result = stage_events_ingest(
                team=team,
                events=events,
                origin=Origin.CSV,
                by=by,
                schedule_recompute=False,
                max_batch=max(1, len(events)),
            )
            seconds["events"] += time.perf_counter() - clock
            clock = time.perf_counter()
            observations += observations_record(
                team=team,
                observations=[o for _, _, row_obs in chunk for o in row_obs],
                characteristic_ids=characteristic_ids,
                by=by,
            )
            seconds["observations"] += time.perf_counter() - clock
            last_row = chunk[-1][0]
            processed = sum(1 for number, _ in table.rows if number <= last_row)
            _job_update(job, processed_rows=processed)
        for name in ("accepted", "duplicates", "deals_created", "deals_updated"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if on_progress is not None:
            on_progress(job)
    if total.accepted or observations:
        _recompute_on_commit(team)
    return {
        "rows": len(table.rows),
        "rows_imported": len(plan.rows),
        "skipped_rows": plan.skipped_rows,
        "events_accepted": total.accepted,
        "duplicates": total.duplicates,
        "deals_created": total.deals_created,
        "deals_updated": total.deals_updated,
        "observations": observations,
        "owners_created": owners,
        "characteristics_created": [name for name, _ in plan.new_characteristics.values()],
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
    }


def _commit_without_waiting_for_disk() -> None:
    """A chunk's commit need not wait for its WAL to reach the disk: the job's final status is
    written with an ordinary (synchronous) commit, which flushes every earlier chunk first. A
    database crash before that loses only chunks of an unfinished job, together with their
    progress, and importing the file again adds exactly what is missing."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _recompute_on_commit(team: Team) -> None:
    from funnel.tasks import team_metrics_recompute_schedule

    team_id = team.id
    transaction.on_commit(lambda: team_metrics_recompute_schedule(team_id=team_id))


def import_preview(*, job: ImportJob) -> CsvTable:
    """The header and the first rows of a job's file."""
    return csv_parse(bytes(job.content), max_rows=PREVIEW_ROWS)


def import_table(*, job: ImportJob) -> CsvTable:
    return _table(bytes(job.content))
