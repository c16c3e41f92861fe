"""CSV import jobs: create (size-checked, mapping guessed or saved), validate (writes no deal
data), queue for a worker, which runs it (funnel.imports.run). The browser and `manage.py
import_csv` both go through these functions; events go in through `stage_events_ingest`.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.bounds import text_problem
from funnel.imports.facts import mapping_for_table, stage_values_fill, team_facts
from funnel.imports.faults import import_job_enqueue
from funnel.imports.mapping import mapping_complete
from funnel.imports.parsing import CsvTable, CsvUnreadable, csv_parse
from funnel.imports.plan import ImportPlan, TeamFacts
from funnel.imports.problems import problems_grouped, rows_with_problems
from funnel.imports.reopening import Reopenings, plan_deal_ids, plan_reopenings
from funnel.imports.rows import import_plan
from funnel.imports.selectors import deals_closed_among
from funnel.imports.sniff import file_refusal
from funnel.models import ImportJob, ImportStatus, ReopenChoice, Team

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
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


def _table(content: bytes) -> CsvTable:
    if refusal := file_refusal(content):  # before a single row is parsed
        raise ImportRefused(refusal)
    try:
        table = csv_parse(content)
    except CsvUnreadable as error:
        raise ImportRefused(str(error)) from error
    for i, name in enumerate(table.header, start=1):
        if problem := text_problem(name):
            raise ImportRefused(f"The header row's column {i} ({name[:40]!r}): {problem}")
    return table


def import_job_create(
    *, team: Team, uploaded_by: AbstractBaseUser | None, filename: str, content: bytes
) -> ImportJob:
    """Store an uploaded file with a mapping guessed from its header (or saved for it)."""
    started = time.perf_counter()
    try:
        import_size_check(len(content))
        table = _table(content)
    except ImportRefused as refused:
        logger.info(
            "import refused team=%s file=%r bytes=%d: %s",
            team.slug,
            filename,
            len(content),
            refused,
        )
        raise
    mapping, _ = mapping_for_table(team=team, table=table, facts=team_facts(team=team))
    job = ImportJob.objects.create(
        team=team,
        uploaded_by=uploaded_by,
        filename=filename[:255],
        content=content,
        size=len(content),
        shape=mapping["shape"],
        mapping=mapping,
        total_rows=len(table.rows),
    )
    logger.info(
        "import job=%s team=%s created file=%r bytes=%d rows=%d shape=%s in %.0f ms",
        job.id,
        team.slug,
        job.filename,
        job.size,
        job.total_rows,
        job.shape,
        (time.perf_counter() - started) * 1000,
    )
    return job


def _plan(job: ImportJob, mapping: dict) -> tuple[CsvTable, dict, ImportPlan, TeamFacts]:
    table = _table(bytes(job.content))
    facts = team_facts(team=job.team)
    # The stage column may have changed: its labels get guesses where none was given.
    mapping = stage_values_fill(mapping_complete(mapping, table.header), table, facts.stages)
    return table, mapping, import_plan(table, mapping, facts), facts


def import_reopenings(*, team: Team, plan: ImportPlan, facts: TeamFacts) -> Reopenings:
    """The deals the plan's rows reopen after a close in the file or in the database."""
    stored = deals_closed_among(team=team, external_ids=plan_deal_ids(plan.rows))
    stage_order = {stage.slug: k for k, stage in enumerate(facts.stages, start=1)}
    return plan_reopenings(plan.rows, stage_order=stage_order, stored=stored)


def _plan_summary(plan: ImportPlan) -> dict:
    bad_rows = rows_with_problems(plan.errors)
    return {
        "rows": len(plan.rows),
        "bad_rows": len(bad_rows),
        # The valid rows may be imported without the bad ones: not when the mapping itself is
        # wrong (row 1), and not when no row is valid.
        "skippable": bool(plan.rows) and len(bad_rows) == len({e.row for e in plan.errors}),
        "problems": problems_grouped(plan.errors),
        "events": plan.event_count,
        "observations": plan.observation_count,
        "skipped_rows": plan.skipped_rows,
        "owners_to_create": sorted(plan.owners_to_create),
        "new_characteristics": [name for name, _ in plan.new_characteristics.values()],
    }


def import_job_validate(*, job: ImportJob, mapping: dict) -> ImportPlan:
    """Check every row against the mapping; record the verdict on the job. No deal data is
    written, so a file with errors leaves the team exactly as it was."""
    started = time.perf_counter()
    table, mapping, plan, facts = _plan(job, mapping)
    job.mapping = mapping
    job.shape = mapping["shape"]
    job.total_rows = len(table.rows)
    job.errors = [e.as_dict() for e in plan.errors[:STORED_ERRORS]]
    job.error_count = len(plan.errors)
    job.status = ImportStatus.INVALID if plan.errors else ImportStatus.VALID
    job.summary = _plan_summary(plan)
    reopened = 0
    if not plan.errors or job.summary["skippable"]:
        reopenings = import_reopenings(team=job.team, plan=plan, facts=facts)
        reopened = len(reopenings.deals)
        if reopened:
            job.summary["reopened"] = reopenings.summary()
    job.on_reopen = ReopenChoice.UNDECIDED  # a new check asks again
    job.save(
        update_fields=[
            "mapping",
            "shape",
            "total_rows",
            "errors",
            "error_count",
            "status",
            "summary",
            "on_reopen",
        ]
    )
    logger.info(
        "import job=%s team=%s validated status=%s rows=%d errors=%d reopened_deals=%d in %.0f ms",
        job.id,
        job.team.slug,
        job.status,
        job.total_rows,
        job.error_count,
        reopened,
        (time.perf_counter() - started) * 1000,
    )
    return plan


def import_job_decide(*, job: ImportJob, on_reopen: str) -> ImportJob:
    """Record what the import does with the deals its file reopens after their close. A file
    that reopens none needs no decision (and records none)."""
    reopened = (job.summary or {}).get("reopened")
    if not reopened:
        on_reopen = ReopenChoice.UNDECIDED
    elif on_reopen not in (ReopenChoice.REOPEN, ReopenChoice.KEEP_CLOSED):
        deals = reopened["deals"]
        raise ImportRefused(
            f"{deals:,} deal{'s' if deals != 1 else ''} would reopen after being closed: "
            "choose whether to reopen them or keep them closed."
        )
    job.on_reopen = on_reopen
    job.save(update_fields=["on_reopen"])
    return job


def import_job_queue(
    *, job: ImportJob, on_reopen: str = "", skip_bad_rows: bool = False
) -> ImportJob:
    """Hand a validated job to a worker, after this transaction commits, with the manager's
    choice for the deals its file reopens (required when there are any). A file with bad rows
    may be imported without them (`skip_bad_rows`), unless its mapping itself is wrong."""
    skippable = job.status == ImportStatus.INVALID and (job.summary or {}).get("skippable")
    if job.status != ImportStatus.VALID and not (skip_bad_rows and skippable):
        raise ImportRefused("Validate the file before importing it.")
    import_job_decide(job=job, on_reopen=on_reopen)
    job.status = ImportStatus.QUEUED
    job.processed_rows = 0
    job.skip_bad_rows = bool(skip_bad_rows and skippable)
    # The sweeper sends the message again if no worker takes the job (funnel.imports.faults).
    job.heartbeat_at = timezone.now()
    job.attempts = 0
    job.written = {}
    job.save(
        update_fields=[
            "status",
            "processed_rows",
            "skip_bad_rows",
            "heartbeat_at",
            "attempts",
            "written",
        ]
    )
    job_id = job.id
    transaction.on_commit(lambda: import_job_enqueue(job_id))
    logger.info(
        "import job=%s team=%s queued rows=%d on_reopen=%s",
        job.id,
        job.team.slug,
        job.total_rows,
        job.on_reopen or "-",
    )
    return job


def import_mapping_propose(*, team: Team, content: bytes) -> dict:
    """The mapping the wizard would propose for a file (the one saved for its header, else a
    guess), as `--mapping` JSON. Writes nothing."""
    import_size_check(len(content))
    table = _table(content)
    mapping, _ = mapping_for_table(team=team, table=table, facts=team_facts(team=team))
    return mapping


def import_preview(*, job: ImportJob) -> CsvTable:
    """The header and the first rows of a job's file."""
    return csv_parse(bytes(job.content), max_rows=PREVIEW_ROWS)


def import_table(*, job: ImportJob) -> CsvTable:
    return _table(bytes(job.content))
