"""An import whose worker dies: the claim, the sweeper, the resumed run's exact counts, the
failure after the attempts run out, the Retry button and the progress shown meanwhile."""

import datetime as dt
import threading

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from funnel.imports import faults
from funnel.imports.faults import import_job_claim, import_jobs_sweep, job_heartbeat
from funnel.imports.run import import_job_run
from funnel.imports.service import import_job_queue
from funnel.imports.tasks import import_jobs_sweep_task
from funnel.models import Deal, ImportJob, ImportStatus, Observation, Role, StageEvent
from funnel.services import membership_add, team_create
from tests.funnel.imports.test_large_file import FULL_MAPPING, _validated_big_job
from tests.integration_support import wait_for

ROWS = 200
COUNTS = ("rows", "events_accepted", "duplicates", "deals_created", "deals_updated", "observations")


class WorkerDied(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, nothing is caught."""


def queued_job(team, manager, rep):
    job, _ = _validated_big_job(team, manager, rep, ROWS, FULL_MAPPING)
    return import_job_queue(job=job)  # its message is sent on commit: never, in these tests


def killed_after(chunks: int):
    seen = []

    def on_progress(job):
        seen.append(job.processed_rows)
        if len(seen) == chunks:
            raise WorkerDied

    return on_progress


def run_until_killed(job, *, chunks: int = 2, chunk_rows: int = 50) -> ImportJob:
    with pytest.raises(WorkerDied):
        import_job_run(job=job, chunk_rows=chunk_rows, on_progress=killed_after(chunks))
    job.refresh_from_db()
    return job


def later(seconds: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


@pytest.fixture
def clean_run(manager, rep):
    """The same file imported in one go, into a team of its own: what a resumed run must equal."""
    west = team_create(slug="west", name="West Region")
    for user, role in ((manager, Role.MANAGER), (rep, Role.REP)):
        membership_add(team=west, email=user.email, role=role)
    job, _ = _validated_big_job(west, manager, rep, ROWS, FULL_MAPPING)
    job = import_job_run(job=job)
    assert job.status == ImportStatus.DONE
    return job


def team_counts(team) -> tuple[int, int, int]:
    return (
        Deal.objects.filter(team=team).count(),
        StageEvent.objects.filter(team=team).count(),
        Observation.objects.filter(deal__team=team).count(),
    )


def test_a_queued_job_is_claimed_by_one_worker_only(team, manager, rep):
    job = queued_job(team, manager, rep)
    claimed = import_job_claim(job_id=job.id)
    assert claimed is not None
    assert (claimed.status, claimed.attempts) == (ImportStatus.RUNNING, 1)
    assert claimed.heartbeat_at is not None
    assert import_job_claim(job_id=job.id) is None  # a duplicate message does nothing
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.DONE)
    assert import_job_claim(job_id=job.id) is None


def test_a_killed_run_is_resumed_by_the_sweep_and_counts_every_row_once(
    team, manager, rep, clean_run, django_capture_on_commit_callbacks
):
    job = run_until_killed(queued_job(team, manager, rep))
    assert (job.status, job.processed_rows, job.attempts) == (ImportStatus.RUNNING, 100, 1)
    assert 0 < Deal.objects.filter(team=team).count() < ROWS

    assert import_jobs_sweep() == []  # its heartbeat is fresh: the worker may be alive
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_sweep(now=later(121)) == [job.id]  # the task runs eagerly here
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.summary
    assert job.attempts == 2
    assert job.processed_rows == ROWS
    assert {k: job.summary[k] for k in COUNTS} == {k: clean_run.summary[k] for k in COUNTS}
    assert job.summary["resumed"] == {"attempts": 2, "rows_written_before": 100}
    assert team_counts(team) == team_counts(clean_run.team)


def test_a_job_whose_worker_keeps_dying_fails_with_how_far_it_got_then_retries(
    team, manager, rep, clean_run, login, django_capture_on_commit_callbacks
):
    job = run_until_killed(queued_job(team, manager, rep), chunks=3)
    ImportJob.objects.filter(id=job.id).update(attempts=3)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert import_jobs_sweep(now=later(121)) == []
    assert sent == []
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.summary["failure"] == (
        "Stopped after 150 of 200 rows: the import worker stopped responding 3 times."
    )
    client = login(manager)
    url = reverse("import_detail", args=[team.slug, job.id])
    retry = reverse("import_retry", args=[team.slug, job.id])
    page = client.get(url).content.decode()
    assert "Stopped after 150 of 200 rows" in page
    assert f'action="{retry}"' in page and "Retry the import" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.summary
    assert {k: job.summary[k] for k in COUNTS} == {k: clean_run.summary[k] for k in COUNTS}
    assert team_counts(team) == team_counts(clean_run.team)
    assert "Retry the import" not in client.get(url).content.decode()
    assert client.post(retry).status_code == 302  # finished: nothing to retry, nothing done
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE


def test_retry_is_for_managers_of_the_team_and_only_by_post(team, manager, rep, outsider, login):
    job = queued_job(team, manager, rep)
    ImportJob.objects.filter(id=job.id).update(
        status=ImportStatus.FAILED, summary={"failure": "x", "retryable": True}
    )
    retry = reverse("import_retry", args=[team.slug, job.id])
    assert login(rep).post(retry).status_code == 403
    assert login(outsider).post(retry).status_code == 404
    assert login(manager).get(retry).status_code == 405
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED


def test_a_failure_on_its_rows_offers_no_retry(team, manager, rep, login):
    job = queued_job(team, manager, rep)
    ImportJob.objects.filter(id=job.id).update(
        status=ImportStatus.FAILED, summary={"failure": "The team changed after the file..."}
    )
    client = login(manager)
    assert (
        "Retry the import"
        not in client.get(reverse("import_detail", args=[team.slug, job.id])).content.decode()
    )
    client.post(reverse("import_retry", args=[team.slug, job.id]))
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED


def test_a_queued_job_no_worker_took_is_sent_again(
    team, manager, rep, django_capture_on_commit_callbacks
):
    job = queued_job(team, manager, rep)
    assert import_jobs_sweep(now=later(60)) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_sweep(now=later(301)) == [job.id]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.processed_rows) == (ImportStatus.DONE, 1, ROWS)


def test_the_progress_bar_tells_the_truth_after_a_restart(
    team, manager, rep, login, django_capture_on_commit_callbacks
):
    job = run_until_killed(queued_job(team, manager, rep))
    client = login(manager)
    url = reverse("import_detail", args=[team.slug, job.id])

    def progress() -> str:
        return client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert "100 of 200 rows written" in progress()
    import_jobs_sweep(now=later(121))  # queued again; its message is not sent in this test
    body = progress()
    assert "Waiting for a worker to resume" in body
    assert "stopped after 100 rows" in body and 'aria-valuenow="50"' in body
    import_job_claim(job_id=job.id)  # the new worker takes it
    body = progress()
    assert "Resuming (attempt 2)" in body
    assert "100 of 200 rows written" in body and 'hx-trigger="every 1s"' in body
    import_job_run(job=ImportJob.objects.get(id=job.id))
    body = progress()
    assert "Import finished" in body
    assert "stopped after 100 rows and the import resumed (2 attempts)" in body


def test_the_sweep_runs_every_minute_with_beat(
    settings, team, manager, rep, django_capture_on_commit_callbacks
):
    entry = settings.CELERY_BEAT_SCHEDULE["imports-sweep"]
    assert (entry["task"], entry["schedule"]) == (import_jobs_sweep_task.name, 60.0)
    job = queued_job(team, manager, rep)
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=later(-301))
    with django_capture_on_commit_callbacks(execute=True):
        import_jobs_sweep_task.delay()  # eager here: the task body, as beat would run it
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE


@pytest.mark.integration
def test_a_slow_but_living_run_keeps_its_heartbeat_fresh(transactional_db, settings, team):
    """Outside a transaction on PostgreSQL (as in the worker) a thread beats while the run
    lasts, however long a chunk takes; it ends with the run."""
    settings.IMPORT_STALE_SECONDS = 4  # a beat every second
    old = timezone.now() - dt.timedelta(hours=1)
    job = ImportJob.objects.create(
        team=team, filename="f.csv", content=b"", size=0, status=ImportStatus.RUNNING
    )
    ImportJob.objects.filter(id=job.id).update(heartbeat_at=old)
    before = threading.active_count()
    with job_heartbeat(job_id=job.id):
        assert threading.active_count() == before + 1
        wait_for(
            lambda: ImportJob.objects.get(id=job.id).heartbeat_at > old,
            timeout=30,
            what="a heartbeat from the thread",
        )
        first = ImportJob.objects.get(id=job.id).heartbeat_at
        wait_for(
            lambda: ImportJob.objects.get(id=job.id).heartbeat_at > first,
            timeout=30,
            what="a second heartbeat: the thread goes on beating",
        )
        # A second after its latest beat the job is alive to the sweeper. (Judged from the
        # beat, not the clock: on a loaded machine the thread may beat late, which is no fault.)
        latest = ImportJob.objects.get(id=job.id).heartbeat_at
        assert import_jobs_sweep(now=latest + dt.timedelta(seconds=1)) == []
    assert threading.active_count() == before


def test_an_unexpected_error_is_said_plainly_and_can_be_retried(
    team, manager, rep, login, django_capture_on_commit_callbacks
):
    job = queued_job(team, manager, rep)

    def broken(job):
        raise RuntimeError('invalid byte sequence for encoding "UTF8": 0x00')

    with pytest.raises(RuntimeError):
        import_job_run(job=job, chunk_rows=50, on_progress=broken)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.summary["failure"] == (
        "Stopped after 50 of 200 rows on an unexpected error; it has been logged."
    )
    client = login(manager)
    page = client.get(reverse("import_detail", args=[team.slug, job.id])).content.decode()
    assert "Stopped after 50 of 200 rows" in page and "Retry the import" in page
    assert "0x00" not in page  # the database's words stay in the log
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import_retry", args=[team.slug, job.id]))
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.summary["deals_created"]) == (
        ImportStatus.DONE,
        ROWS,
        ROWS,
    )


def test_a_start_while_the_broker_is_down_is_saved_and_sent_by_the_next_sweep(
    team, manager, rep, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    job, _ = _validated_big_job(team, manager, rep, ROWS, FULL_MAPPING)
    monkeypatch.setattr(faults, "task_enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        import_job_queue(job=job)  # no exception: the start is saved
    job.refresh_from_db()
    assert (job.status, job.heartbeat_at) == (ImportStatus.QUEUED, None)

    monkeypatch.undo()  # the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_sweep(now=later(1)) == [job.id]
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportStatus.DONE, ROWS)
