"""An import job's rows, converted a slice at a time and written while the next slice is
converted: by two writer threads on PostgreSQL (funnel.imports.chunks), else here, a chunk per
transaction that commits with the job's progress. Called by funnel.imports.run."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from django.db import transaction

from funnel.imports.batches import rows_converted, rows_converted_kept_closed
from funnel.imports.chunks import (
    ParallelWriters,
    WriterTotals,
    chunk_committed,
    chunk_write,
    commit_without_waiting_for_disk,
    writers_usable,
)
from funnel.imports.faults import resumed_totals
from funnel.imports.laps import Laps
from funnel.imports.parsing import CsvTable
from funnel.imports.plan import PlanRow, TeamFacts
from funnel.imports.preparation import ImportPreparation
from funnel.imports.rows import PlanBuilder
from funnel.models import ImportJob, ReopenChoice
from funnel.pipeline.request import team_recompute_on_commit


def slices_run(
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
