"""Enqueue a Celery task by its registered name.

The pipeline's tasks call the services; the services ask for work through here, so no module
below the task modules imports them, and no import has to hide inside a function. With
CELERY_TASK_ALWAYS_EAGER (the embedded default) the task runs at once, in process.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

TEAM_RECOMPUTE = "funnel.pipeline.team_recompute"
COMPANY_RECOMPUTE = "funnel.pipeline.company_recompute"
TEAM_REBUILD = "funnel.pipeline.team_rebuild"
IMPORT_JOB_RUN = "funnel.imports.import_job_run"


def task_enqueue(name: str, *args, countdown: float | None = None) -> None:
    if name not in current_app.tasks:
        # A web process has not loaded the task modules yet: Celery's own discovery does.
        current_app.loader.import_default_modules()
    current_app.tasks[name].apply_async(args=args, countdown=countdown)


def queue_length() -> int | None:
    """Messages waiting in the default queue, or None when that cannot be known (eager mode,
    a broker that does not answer). Messages a worker has already taken are not counted."""
    if current_app.conf.task_always_eager:
        return None
    name = current_app.conf.task_default_queue
    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)
            # Declaring the queue the workers consume anyway: an answer even right after the
            # broker lost everything (a flushed Redis forgets the queue too).
            declared = connection.default_channel.queue_declare(
                queue=name, durable=True, auto_delete=False
            )
            return declared.message_count
    except Exception:
        logger.warning("could not read the length of queue %r", name, exc_info=True)
        return None
