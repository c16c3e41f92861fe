"""Imports that survive their worker: claiming a queued job, the sweeper that re-queues a job
whose worker died, and the Retry of one that stopped.

A running job's heartbeat moves at its start and at every committed chunk. A job whose
heartbeat is older than IMPORT_STALE_SECONDS lost its worker (killed, out of memory, the
machine restarted): the sweeper queues it again, up to IMPORT_MAX_ATTEMPTS runs, then marks it
failed with how far it got. A re-run reads the file from the top; event ids make the rows an
earlier attempt wrote add nothing, and the job's `written` counts (committed with each chunk)
let the summary count them once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from funnel.models import ImportJob, ImportStatus
from funnel.pipeline.queue import IMPORT_JOB_RUN, task_enqueue

logger = logging.getLogger(__name__)

# What a chunk's commit adds to the job's `written` counts (summed over attempts).
WRITTEN_COUNTS = ("events_accepted", "deals_created", "deals_updated", "observations")


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "IMPORT_STALE_SECONDS", 120)))


def queued_stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "IMPORT_QUEUED_STALE_SECONDS", 300)))


def max_attempts() -> int:
    return int(getattr(settings, "IMPORT_MAX_ATTEMPTS", 3))


def attempt_begin(job: ImportJob, *, now: dt.datetime) -> list[str]:
    """Mark the job running on a new attempt (the caller saves the fields returned). A job
    that committed rows before (its worker died, or it was retried) resumes: the summary keeps
    what the earlier attempts wrote, for the progress bar and the final counts."""
    written = job.written or {}
    job.attempts += 1
    job.status = ImportStatus.RUNNING
    job.heartbeat_at = now
    job.started_at = job.started_at or now
    summary = dict(job.summary or {})
    summary.pop("failure", None)
    summary.pop("retryable", None)
    if job.processed_rows:
        summary["resume"] = {
            "attempt": job.attempts,
            "rows_written": job.processed_rows,
            "earlier": {name: written.get(name, 0) for name in WRITTEN_COUNTS},
        }
    job.summary = summary
    job.written = {**{name: written.get(name, 0) for name in WRITTEN_COUNTS}, "pass_rows": 0}
    return ["attempts", "status", "heartbeat_at", "started_at", "summary", "written"]


@contextmanager
def job_heartbeat(*, job_id: int) -> Iterator[None]:
    """While the run lasts, a thread moves the job's heartbeat four times per stale period, so a
    worker that is alive but slow (a long conversion, a lock wait) is never taken for dead and
    its job never runs twice; a killed worker's thread dies with it. On PostgreSQL outside a
    transaction only (as in the Celery task): the thread needs its own connection, which must
    see the job's row."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    stop = threading.Event()
    interval = max(1.0, stale_after().total_seconds() / 4)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                ImportJob.objects.filter(id=job_id, status=ImportStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:  # the chunks' heartbeats remain
            logger.exception("import job=%s: the heartbeat thread stopped", job_id)
        finally:
            connections.close_all()  # this thread's connection

    thread = threading.Thread(target=beat, name=f"import-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def import_job_claim(*, job_id: int) -> ImportJob | None:
    """Take a queued job for this worker, or None when it is not queued (another worker has
    it, it finished, or the message is a duplicate the sweeper sent): two workers never run
    the same job at once."""
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("team", "uploaded_by")
            .filter(id=job_id, status=ImportStatus.QUEUED)
            .first()
        )
        if job is None:
            logger.info("import job=%s not claimed: it is not waiting for a worker", job_id)
            return None
        job.save(update_fields=attempt_begin(job, now=timezone.now()))
    return job


def import_jobs_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Queue again the jobs whose worker stopped (or whose message was lost); fail those that
    have used their attempts. Returns the ids queued again."""
    now = now or timezone.now()
    stale_running = Q(status=ImportStatus.RUNNING) & (
        Q(heartbeat_at__lt=now - stale_after()) | Q(heartbeat_at__isnull=True)
    )
    stale_queued = Q(status=ImportStatus.QUEUED) & (
        Q(heartbeat_at__lt=now - queued_stale_after()) | Q(heartbeat_at__isnull=True)
    )
    queued = []
    for job_id in ImportJob.objects.filter(stale_running | stale_queued).values_list(
        "id", flat=True
    ):
        with transaction.atomic():
            job = (
                ImportJob.objects.select_for_update(of=("self",))
                .filter(stale_running | stale_queued, id=job_id)
                .select_related("team")
                .first()
            )
            if job is None:
                continue  # its worker beat, or it finished, since the list was read
            if job.status == ImportStatus.RUNNING and job.attempts >= max_attempts():
                _job_stalled(job, now=now)
                continue
            if job.status == ImportStatus.RUNNING:
                logger.warning(
                    "import job=%s team=%s: no heartbeat since %s after %d of %d rows "
                    "(attempt %d); queued again",
                    job.id,
                    job.team.slug,
                    job.heartbeat_at,
                    job.processed_rows,
                    job.total_rows,
                    job.attempts,
                )
            else:
                logger.warning(
                    "import job=%s team=%s queued since %s without a worker taking it; sent again",
                    job.id,
                    job.team.slug,
                    job.heartbeat_at,
                )
            ImportJob.objects.filter(id=job.id).update(status=ImportStatus.QUEUED, heartbeat_at=now)
            transaction.on_commit(lambda job_id=job.id: import_job_enqueue(job_id))
            queued.append(job.id)
    return queued


def import_job_enqueue(job_id: int) -> None:
    """Send a queued job to the workers, after its commit. A broker that is down must not turn
    the manager's saved start into an error: the job stays queued without a heartbeat, which
    the next sweep (a minute at most) takes as a message to send again."""
    try:
        task_enqueue(IMPORT_JOB_RUN, job_id)
    except Exception:
        logger.exception("import job=%s: the broker refused the run; the sweep resends it", job_id)
        ImportJob.objects.filter(id=job_id, status=ImportStatus.QUEUED).update(heartbeat_at=None)


def _job_stalled(job: ImportJob, *, now: dt.datetime) -> None:
    times = "once" if job.attempts == 1 else f"{job.attempts} times"
    failure = (
        f"Stopped after {job.processed_rows:,} of {job.total_rows:,} rows: the import worker "
        f"stopped responding {times}."
    )
    ImportJob.objects.filter(id=job.id).update(
        status=ImportStatus.FAILED,
        finished_at=now,
        summary={**(job.summary or {}), "failure": failure, "retryable": True},
    )
    logger.error("import job=%s team=%s failed: %s", job.id, job.team.slug, failure)


def unexpected_failure(*, job: ImportJob, error: Exception) -> dict:
    """The summary of a run stopped by an error in the code or the database: plain words for
    the page; the error itself for the log and the operator (error_detail). It may be retried."""
    try:  # the writers' threads moved it, not this object
        processed = ImportJob.objects.values_list("processed_rows", flat=True).get(id=job.id)
    except DatabaseError:
        processed = job.processed_rows
    return {
        "failure": (
            f"Stopped after {processed:,} of {job.total_rows:,} rows on an unexpected error; "
            "it has been logged."
        ),
        "error_detail": f"{type(error).__name__}: {error}"[:500],
        "retryable": True,
    }


def import_job_retryable(job: ImportJob) -> bool:
    return job.status == ImportStatus.FAILED and bool((job.summary or {}).get("retryable"))


def import_job_retry(*, job: ImportJob) -> bool:
    """Queue a stopped job again, with fresh attempts; it resumes after what was written.
    False when the job cannot be retried (it finished, or failed on its rows)."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().filter(id=job.id).first()
        if locked is None or not import_job_retryable(locked):
            return False
        ImportJob.objects.filter(id=job.id).update(
            status=ImportStatus.QUEUED, attempts=0, heartbeat_at=timezone.now(), finished_at=None
        )
        transaction.on_commit(lambda: import_job_enqueue(job.id))
    logger.info(
        "import job=%s team=%s retried after %d of %d rows",
        job.id,
        job.team.slug,
        locked.processed_rows,
        locked.total_rows,
    )
    return True


def resumed_totals(*, job: ImportJob, out: dict, resume: dict) -> dict:
    """A resumed run's counts as one clean run would give them: what every attempt committed
    (the job's `written`), and as already stored only the events that were there before the
    first attempt (this attempt found the earlier attempts' events stored too)."""
    written = ImportJob.objects.values_list("written", flat=True).get(id=job.id) or {}
    for name in WRITTEN_COUNTS:
        out[name] = written.get(name, 0)
    out["duplicates"] = max(0, out["duplicates"] - resume["earlier"]["events_accepted"])
    out["resumed"] = {"attempts": job.attempts, "rows_written_before": resume["rows_written"]}
    return out
