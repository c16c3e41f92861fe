"""The set-based route of an import run (PostgreSQL): the file read and converted column-wise
(funnel.imports.columnar), then written in one transaction (funnel.imports.sets). Taken for a
clean deal export when nothing asks for the row-by-row path's care (rows left out, a resumed
run); otherwise, and whenever the file turns out not to be clean, `set_based_run` returns None
and the run goes row by row as before, which stores the same."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from funnel.imports.chunks import chunk_committed, commit_without_waiting_for_disk
from funnel.imports.columnar import NotColumnar, columnar_header, columnar_plan, columnar_read
from funnel.imports.facts import team_facts
from funnel.imports.laps import Laps
from funnel.imports.mapping import mapping_complete
from funnel.imports.parsing import CsvTable
from funnel.imports.preparation import ImportPreparation
from funnel.imports.rows import PlanBuilder
from funnel.imports.sets import SetWriter, stages_refused
from funnel.ingest.events import _team_context
from funnel.models import ImportJob, ReopenChoice
from funnel.pipeline.request import team_recompute_on_commit


def set_based_usable(job: ImportJob) -> bool:
    """Turned on (settings.IMPORT_SET_BASED: off by default, since on the 2-core development
    machine it was not yet faster than the row-by-row path's two writers, see
    docs/performance.md), PostgreSQL, a deal export, every row written as the ingest writes it
    (no bad rows left out, reopened deals not kept closed), a first attempt."""
    return (
        getattr(settings, "IMPORT_SET_BASED", False)
        and connection.vendor == "postgresql"
        and job.shape == "deals"
        and not job.skip_bad_rows
        and job.on_reopen != ReopenChoice.KEEP_CLOSED
        and not (job.summary or {}).get("resume")
    )


def set_based_run(*, job: ImportJob, laps: Laps) -> dict | None:
    """Import the job's file set-based; its summary's totals, or None (nothing written but
    what the row-by-row path would set up the same way) when that path must take it."""
    raw = columnar_read(bytes(job.content))
    laps.lap("read")
    if raw is None or not raw.height:
        return None
    header = columnar_header(raw)
    facts = team_facts(team=job.team)
    mapping = mapping_complete(job.mapping, header)
    table = CsvTable(header=header, rows=[], delimiter="", overlong=[])
    builder = PlanBuilder(table, mapping, facts)
    laps.lap("team_facts")
    if builder.failed:
        return None
    plan = columnar_plan(raw, builder, rows=job.total_rows)
    laps.lap("check")
    if plan is None or stages_refused(_team_context(team=job.team, events=[]), plan):
        return None
    # From here the file is written set-based; an owner the ingest refuses after the owners
    # are set up (an address stored with capitals) is the one case left to the row-by-row path.
    prepared = ImportPreparation(job=job, table=table, mapping=mapping, builder=builder)
    prepared.before_write(builder)
    laps.lap("prepare")
    try:
        writer = SetWriter(
            team=job.team,
            plan=plan,
            characteristic_ids=prepared.characteristic_ids,
            by=job.uploaded_by,
        )
    except NotColumnar:
        return None
    laps.lap("stage")
    with transaction.atomic():
        commit_without_waiting_for_disk()  # the job's final status commit flushes it
        result, observations = writer.write()
        job.processed_rows = chunk_committed(
            job=job, result=result, observations=observations, position=plan.rows
        )
    laps.lap("write")
    laps.notes.update(writer.seconds)
    prepared.finish(builder)
    if result.accepted or observations:
        team_recompute_on_commit(team_id=job.team.id)
    laps.lap("prepare")
    out = {
        "rows": plan.rows,
        "rows_imported": plan.rows,
        "skipped_rows": 0,
        "events_accepted": result.accepted,
        "duplicates": result.duplicates,
        "deals_created": result.deals_created,
        "deals_updated": result.deals_updated,
        "observations": observations,
        "newest_event": plan.newest_event,
        "owners_created": prepared.owners_created,
        "characteristics_created": [
            name
            for slug, (name, _) in builder.new_characteristics().items()
            if slug in prepared.characteristics_created
        ],
        "route": "set-based",
    }
    if reopened := (job.summary or {}).get("reopened"):
        out["reopened"] = {**reopened, "choice": job.on_reopen}
    return out
