"""Running a validated import job: the Celery task's body (and `manage.py import_csv`'s).

The file is converted a slice at a time; on PostgreSQL two writers write the slices already
converted while the next is converted (funnel.imports.chunks), each chunk one transaction that
commits with the job's progress, so the progress bar moves. Event ids make a re-run after a crash
add only what is missing; the job's `written` counts make its summary count what an earlier
attempt wrote once (funnel.imports.faults).
"""

from __future__ import annotations

import gc
import logging
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from funnel.audit.context import import_history_context
from funnel.imports.batches import rows_converted, rows_converted_kept_closed
from funnel.imports.chunks import (
    ParallelWriters,
    WriterTotals,
    chunk_committed,
    chunk_write,
    commit_without_waiting_for_disk,
    writers_usable,
)
from funnel.imports.facts import team_facts
from funnel.imports.faults import (
    attempt_begin,
    job_heartbeat,
    resumed_totals,
    unexpected_failure,
)
from funnel.imports.laps import Laps
from funnel.imports.mapping import mapping_complete
from funnel.imports.parsing import CsvTable
from funnel.imports.plan import ImportPlan, PlanRow, TeamFacts
from funnel.imports.preparation import ImportPreparation
from funnel.imports.problems import problems_grouped, rows_with_problems
from funnel.imports.rows import PlanBuilder
from funnel.imports.service import STORED_ERRORS, import_table
from funnel.ingest import IngestRejected
from funnel.models import ImportJob, ImportStatus, ReopenChoice
from funnel.pipeline.request import team_recompute_on_commit

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000
# With two writers, the file is converted this many rows at a time, each slice handed to the
# writers while the next is converted. Large: converting while the writers write slows both (the
# three threads share one interpreter lock). Interleaved runs of 10,000 rows, seven each, gave a
# median of 24,844 rows/s converting the whole file first, 22,822 in slices of 5,000 after a
# first one of 1,000 (which let the writers start early); 28,057 against 26,953 at 30,000 rows.
SLICE_ROWS = 50_000


def _job_update(job: ImportJob, **values) -> None:
    for name, value in values.items():
        setattr(job, name, value)
    ImportJob.objects.filter(id=job.id).update(**values)


def import_job_run(
    *,
    job: ImportJob,
    chunk_rows: int = CHUNK_ROWS,
    slice_rows: int = SLICE_ROWS,
    on_progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Import a job's rows in chunks. Each chunk commits with the job's progress, so the
    progress bar moves; event ids make a re-run after a crash add only what is missing."""
    started = time.perf_counter()
    try:
        with (
            _garbage_collection_paused(),
            import_history_context(job),
            job_heartbeat(job_id=job.id),
        ):
            job = _job_run(
                job=job, chunk_rows=chunk_rows, slice_rows=slice_rows, on_progress=on_progress
            )
    except Exception as error:
        # The caller (the Celery task, the command) reports the traceback.
        logger.error(
            "import job=%s team=%s failed after %.0f ms: %r",
            job.id,
            job.team.slug,
            (time.perf_counter() - started) * 1000,
            error,
        )
        raise
    _job_log(job, (time.perf_counter() - started) * 1000)
    return job


def _job_log(job: ImportJob, ms: float) -> None:
    """One line a run: what the job imported, or why it stopped."""
    summary = job.summary or {}
    if job.status == ImportStatus.DONE:
        logger.info(
            "import job=%s team=%s done rows=%d events_accepted=%d duplicates=%d "
            "deals_created=%d observations=%d in %.0f ms",
            job.id,
            job.team.slug,
            summary.get("rows", 0),
            summary.get("events_accepted", 0),
            summary.get("duplicates", 0),
            summary.get("deals_created", 0),
            summary.get("observations", 0),
            ms,
        )
        return
    logger.warning(
        "import job=%s team=%s %s rows=%d errors=%d in %.0f ms%s",
        job.id,
        job.team.slug,
        job.status,
        job.total_rows,
        job.error_count,
        ms,
        f": {summary['failure']}" if summary.get("failure") else "",
    )


@contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """A run allocates a few objects per cell and keeps most of them (the plan) to its end, so
    the cycle collector kept re-scanning the growing heap: about 0.3 s of a 2.7 s run of 10,000
    rows, three quarters of it in full collections. What a run allocates is freed by reference
    counting when it returns; cycles it leaves are collected as usual after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _job_run(
    *,
    job: ImportJob,
    chunk_rows: int,
    slice_rows: int,
    on_progress: Callable[[ImportJob], None] | None,
) -> ImportJob:
    laps = Laps()
    if job.status != ImportStatus.RUNNING:  # not claimed by the task: the command, a test
        job.save(update_fields=attempt_begin(job, now=timezone.now()))
    laps.lap("start")
    table = import_table(job=job)
    laps.lap("read")
    facts = team_facts(team=job.team)
    mapping = mapping_complete(job.mapping, table.header)
    builder = PlanBuilder(table, mapping, facts, skip_bad=job.skip_bad_rows)
    laps.lap("team_facts")
    if builder.failed:  # the mapping no longer fits the team, or rows are too long
        if not builder.mapping_failed:
            builder.add(table.rows)  # every problem, for the report; nothing is written
        return _job_invalid(job, builder.finish())
    try:
        totals = _run_slices(
            job=job,
            table=table,
            mapping=mapping,
            builder=builder,
            facts=facts,
            chunk_rows=chunk_rows,
            slice_rows=slice_rows,
            on_progress=on_progress,
            laps=laps,
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
            summary={**job.summary, **unexpected_failure(job=job, error=error)},
            finished_at=timezone.now(),
        )
        raise
    plan = builder.finish()
    if plan.errors and job.skip_bad_rows:
        # Every row with a problem was left out, the rest written; the report keeps them all
        # (the skipped-rows file is made from it).
        totals["skipped_bad"] = {
            "rows": len(rows_with_problems(plan.errors)),
            "groups": problems_grouped(plan.errors, keep_rows=None),
        }
    elif plan.errors:
        # Checked when validated, but the team changed since (a stage, member or characteristic
        # went): the rows before the first bad one are stored, the rest is not.
        first = plan.errors[0].row
        # Kept closed, the whole file is converted before a row is written.
        written = (
            "Nothing was imported."
            if job.on_reopen == ReopenChoice.KEEP_CLOSED
            else "The rows before it were imported."
        )
        _job_update(
            job,
            status=ImportStatus.FAILED,
            summary={
                **totals,
                "failure": (
                    f"The team changed after the file was checked: {_rows_text(plan.errors)}, "
                    f"the first is row {first:,}. {written}"
                ),
            },
            errors=[e.as_dict() for e in plan.errors[:STORED_ERRORS]],
            error_count=len(plan.errors),
            finished_at=timezone.now(),
        )
        return job
    totals["seconds"] = laps.summary()
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


def _rows_text(errors: list) -> str:
    rows = len({e.row for e in errors})
    return "1 row no longer passes" if rows == 1 else f"{rows:,} rows no longer pass"


def _job_invalid(job: ImportJob, plan: ImportPlan) -> ImportJob:
    _job_update(
        job,
        status=ImportStatus.INVALID,
        errors=[e.as_dict() for e in plan.errors[:STORED_ERRORS]],
        error_count=len(plan.errors),
        finished_at=timezone.now(),
    )
    return job


def _run_slices(
    *,
    job: ImportJob,
    table: CsvTable,
    mapping: dict,
    builder: PlanBuilder,
    facts: TeamFacts,
    chunk_rows: int,
    slice_rows: int,
    on_progress,
    laps: Laps,
) -> dict:
    """Convert the file a slice at a time and write each slice's rows while converting the next.

    The rows were all checked when the job was validated; they are checked again here, since the
    team may have changed since. Writing stops at the first slice with a problem."""
    prepared = ImportPreparation(job=job, table=table, mapping=mapping, builder=builder)
    laps.lap("prepare")
    writers = None
    if writers_usable(len(table.rows), chunk_rows):
        # Started first: they open their connections while the first slice is converted.
        writers = ParallelWriters(
            job=job,
            characteristic_ids=prepared.characteristic_ids,
            chunk_rows=chunk_rows,
            on_chunk=(lambda: on_progress(_job_refreshed(job))) if on_progress else None,
        )
        size = slice_rows
    else:
        size = chunk_rows
    reopened = dict((job.summary or {}).get("reopened") or {})
    if job.on_reopen == ReopenChoice.KEEP_CLOSED:
        batches = rows_converted_kept_closed(
            job=job,
            table=table,
            builder=builder,
            facts=facts,
            size=size,
            lap=laps.lap,
            into=reopened,
        )
    else:
        batches = rows_converted(table=table, builder=builder, size=size, lap=laps.lap)
    try:
        totals = _slices_write(
            job=job,
            table=table,
            builder=builder,
            prepared=prepared,
            batches=batches,
            writers=writers,
            on_progress=on_progress,
            laps=laps,
        )
    except BaseException:
        if writers is not None:
            writers.stop()  # no thread is left waiting for rows
        raise
    if writers is not None:
        totals = writers.close()
        laps.lap("writers")
        # What each part took, summed over the two writers (they overlap in time).
        laps.notes.update({f"writers_{name}": v for name, v in totals.seconds.items()})
    if not builder.failed:
        prepared.finish(builder)
        laps.lap("prepare")
    if totals.accepted or totals.observations:
        team_recompute_on_commit(team_id=job.team.id)
    laps.lap("recompute_request")
    out = {
        "rows": len(table.rows),
        "rows_imported": len(builder.plan.rows) - reopened.get("rows_skipped", 0),
        "skipped_rows": builder.plan.skipped_rows,
        "events_accepted": totals.accepted,
        "duplicates": totals.duplicates,
        "deals_created": totals.deals_created,
        "deals_updated": totals.deals_updated,
        "observations": totals.observations,
        "newest_event": _newest_event(builder.plan.rows),
        "owners_created": prepared.owners_created,
        "characteristics_created": [
            name
            for slug, (name, _) in builder.new_characteristics().items()
            if slug in prepared.characteristics_created
        ],
    }
    if reopened:
        out["reopened"] = {**reopened, "choice": job.on_reopen}
    if resume := (job.summary or {}).get("resume"):
        out = resumed_totals(job=job, out=out, resume=resume)
    return out


def _newest_event(rows: list[PlanRow]) -> str | None:
    """The date of the newest event the file holds: its data's horizon."""
    newest = max((e.occurred_at for _, events, _ in rows for e in events), default=None)
    return newest.date().isoformat() if newest else None


def _slices_write(
    *,
    job: ImportJob,
    table: CsvTable,
    builder: PlanBuilder,
    prepared: ImportPreparation,
    batches: Iterator[list[PlanRow]],
    writers: ParallelWriters | None,
    on_progress,
    laps: Laps,
) -> WriterTotals:
    """Hand each batch of converted rows to the writers, or write it here as one chunk.
    Returns what was written here (the writers count their own)."""
    totals = WriterTotals()
    numbers = [number for number, _ in table.rows]  # ascending, as in the file
    for rows in batches:
        if builder.failed:
            continue  # check the rest, for the report; write nothing more
        prepared.before_write(builder)
        laps.lap("prepare")
        if not rows:
            continue
        if writers is not None:
            writers.submit(rows)
            laps.lap("writers")
            continue
        with transaction.atomic():
            commit_without_waiting_for_disk()
            result, added = chunk_write(
                job=job, chunk=rows, characteristic_ids=prepared.characteristic_ids, lap=laps.lap
            )
            # Rows up to the slice's last, counting rows skipped as repeats.
            job.processed_rows = chunk_committed(
                job=job,
                result=result,
                observations=added,
                position=bisect_right(numbers, rows[-1][0]),
            )
            laps.lap("progress")
        laps.lap("commit")
        totals.count(result, added)
        if on_progress is not None:
            on_progress(job)
        laps.lap("chunks")
    return totals


def _job_refreshed(job: ImportJob) -> ImportJob:
    job.processed_rows = ImportJob.objects.values_list("processed_rows", flat=True).get(id=job.id)
    return job
