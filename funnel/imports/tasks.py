"""The CSV import's Celery task: a one-line wrapper around the import run."""

from celery import shared_task

from funnel.imports.run import import_job_run
from funnel.models import ImportJob


@shared_task(name="funnel.imports.import_job_run")
def import_job_run_task(job_id: int) -> None:
    job = ImportJob.objects.select_related("team", "uploaded_by").filter(id=job_id).first()
    if job is not None:
        import_job_run(job=job)
