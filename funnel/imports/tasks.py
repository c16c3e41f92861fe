"""The CSV import's Celery tasks: thin wrappers around the import run and the sweeper."""

from celery import shared_task

from funnel.imports.faults import import_job_claim, import_jobs_sweep
from funnel.imports.run import import_job_run


@shared_task(name="funnel.imports.import_job_run")
def import_job_run_task(job_id: int) -> None:
    # Claimed first: a duplicate message, or one for a job another worker runs, does nothing.
    job = import_job_claim(job_id=job_id)
    if job is not None:
        import_job_run(job=job)


@shared_task(name="funnel.imports.import_jobs_sweep")
def import_jobs_sweep_task() -> None:
    import_jobs_sweep()
