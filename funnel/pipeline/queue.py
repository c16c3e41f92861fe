"""Enqueue a Celery task by its registered name.

The pipeline's tasks call the services; the services ask for work through here, so no module
below the task modules imports them, and no import has to hide inside a function. With
CELERY_TASK_ALWAYS_EAGER (the embedded default) the task runs at once, in process.
"""

from __future__ import annotations

from celery import current_app

TEAM_RECOMPUTE = "funnel.pipeline.team_recompute"
COMPANY_RECOMPUTE = "funnel.pipeline.company_recompute"
TEAM_REBUILD = "funnel.pipeline.team_rebuild"
IMPORT_JOB_RUN = "funnel.imports.import_job_run"


def task_enqueue(name: str, *args, countdown: float | None = None) -> None:
    if name not in current_app.tasks:
        # A web process has not loaded the task modules yet: Celery's own discovery does.
        current_app.loader.import_default_modules()
    current_app.tasks[name].apply_async(args=args, countdown=countdown)
