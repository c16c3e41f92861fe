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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.utils import timezone

from funnel.audit.context import import_history_context
from funnel.imports.facts import team_facts
from funnel.imports.faults import (
    attempt_begin,
    job_heartbeat,
    unexpected_failure,
)
from funnel.imports.laps import Laps
from funnel.imports.mapping import mapping_complete
from funnel.imports.plan import ImportPlan
from funnel.imports.problems import problems_grouped, rows_with_problems
from funnel.imports.rows import PlanBuilder
from funnel.imports.service import STORED_ERRORS, import_table
from funnel.imports.set_run import set_based_run, set_based_usable
from funnel.imports.slices import slices_run
from funnel.ingest import IngestRejected
from funnel.models import ImportJob, ImportStatus, ReopenChoice

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000
# With two writers, the file is converted this many rows at a time, each slice handed to the
# writers while the next is converted. Large: converting while the writers write slows both (the
# three threads share one interpreter lock). Interleaved runs of 10,000 rows, seven each, gave a
# median of 24,844 rows/s converting the whole file first, 22,822 in slices of 5,000 after a
# first one of 1,000 (which let the writers start early); 28,057 against 26,953 at 30,000 rows.
SLICE_ROWS = 50_000


def _job_failed_unexpectedly(job: ImportJob, error: Exception) -> None:
    """Mark the job failed on an error nobody foresaw; its summary says how far it got."""
    _job_update(
        job,
        status=ImportStatus.FAILED,
        summary={**job.summary, **unexpected_failure(job=job, error=error)},
        finished_at=timezone.now(),
    )


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
    if set_based_usable(job):
        try:
            totals = set_based_run(job=job, laps=laps)
        except Exception as error:
            _job_failed_unexpectedly(job, error)
            raise
        if totals is not None:
            return _job_done(job, totals, rows=totals["rows"], laps=laps)
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
        totals = slices_run(
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
        _job_failed_unexpectedly(job, error)
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
    return _job_done(job, totals, rows=len(table.rows), laps=laps)


def _job_done(job: ImportJob, totals: dict, *, rows: int, laps: Laps) -> ImportJob:
    totals["seconds"] = laps.summary()
    _job_update(
        job,
        status=ImportStatus.DONE,
        processed_rows=rows,
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
