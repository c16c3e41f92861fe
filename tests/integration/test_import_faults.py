"""The worker is killed (SIGKILL) in the middle of an import; after a restart the sweeper queues
the job again and it finishes with the exact counts of a clean import of the same file."""

import datetime as dt
import time

import pytest
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from funnel.imports.faults import import_jobs_sweep
from funnel.imports.service import import_job_queue
from funnel.models import Deal, ImportJob, ImportStatus, Observation, Role, StageEvent
from funnel.services import membership_add, team_create
from tests.funnel.imports.test_large_file import FULL_MAPPING, _validated_big_job
from tests.integration_support import wait_for

pytestmark = pytest.mark.integration

ROWS = 60_000
COUNTS = ("rows", "events_accepted", "duplicates", "deals_created", "deals_updated", "observations")


def team_with(slug, manager, rep):
    team = team_create(slug=slug, name=slug.title())
    membership_add(team=team, email=manager.email, role=Role.MANAGER)
    membership_add(team=team, email=rep.email, role=Role.REP)
    return team


def finished(job_id: int, timeout: float = 300) -> ImportJob:
    def done():
        job = ImportJob.objects.get(id=job_id)
        return job if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING) else None

    return wait_for(done, timeout=timeout, interval=0.5, what=f"import job {job_id} to finish")


def team_counts(team) -> dict:
    return {
        "deals": Deal.objects.filter(team=team).count(),
        "events": StageEvent.objects.filter(team=team).count(),
        "observations": Observation.objects.filter(deal__team=team).count(),
    }


def test_an_import_whose_worker_is_killed_finishes_with_exact_counts(celery_worker):
    north = team_create(slug="north", name="North")
    manager = membership_add(team=north, email="max.manager@example.com", role=Role.MANAGER)[2]
    rep = membership_add(team=north, email="rita.rep@example.com", role=Role.REP)[2]
    job, _ = _validated_big_job(north, manager, rep, ROWS, FULL_MAPPING)
    import_job_queue(job=job)  # autocommit here: the message goes to the worker at once

    def part_written():
        processed = ImportJob.objects.values_list("processed_rows", flat=True).get(id=job.id)
        return processed if 0 < processed < ROWS else None

    wait_for(part_written, timeout=180, interval=0.02, what="the first committed chunk")
    celery_worker.kill()
    time.sleep(0.5)  # nothing more can commit: the process is gone
    killed = ImportJob.objects.get(id=job.id)
    assert killed.status == ImportStatus.RUNNING and killed.attempts == 1
    assert 0 < killed.processed_rows < ROWS
    partial = team_counts(north)
    assert 0 < partial["deals"] < ROWS

    celery_worker.start()
    # Still running as far as the database knows, and its heartbeat is fresh: left alone.
    assert import_jobs_sweep() == []
    stale = timezone.now() + dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 1)
    assert import_jobs_sweep(now=stale) == [job.id]
    resumed = finished(job.id)
    assert resumed.status == ImportStatus.DONE, resumed.summary
    assert resumed.attempts == 2
    assert resumed.processed_rows == ROWS
    assert resumed.summary["resumed"]["rows_written_before"] == killed.processed_rows

    # The same file imported in one go into another team, by the same worker.
    south = team_with("south", manager, rep)
    clean, _ = _validated_big_job(south, manager, rep, ROWS, FULL_MAPPING)
    import_job_queue(job=clean)
    clean = finished(clean.id)
    assert clean.status == ImportStatus.DONE and clean.attempts == 1

    assert {k: resumed.summary[k] for k in COUNTS} == {k: clean.summary[k] for k in COUNTS}
    assert resumed.summary["deals_created"] == ROWS
    assert team_counts(north) == team_counts(south)
    assert team_counts(north)["deals"] == ROWS
    # Nothing written twice: one event per deal, stage and time (event ids are unique anyway).
    repeated = (
        StageEvent.objects.filter(team=north)
        .values("deal_id", "stage_id", "outcome", "occurred_at")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not repeated.exists()
