"""Celery tasks' writes carry the task's name into the audit history.

Connected by the Celery app (kaizen.celery). A task run inside a recorded block (eagerly, in
a request) adds nothing: the block's own context says who.
"""

import threading

from celery.signals import task_postrun, task_prerun

from funnel.audit.context import history_context, history_context_active

_running = threading.local()


@task_prerun.connect
def history_context_enter(task_id=None, task=None, **kwargs) -> None:
    if history_context_active():
        return
    block = history_context(via="task", task=task.name if task is not None else "")
    block.__enter__()
    _running.blocks = {**getattr(_running, "blocks", {}), task_id: block}


@task_postrun.connect
def history_context_exit(task_id=None, **kwargs) -> None:
    block = getattr(_running, "blocks", {}).pop(task_id, None)
    if block is not None:
        block.__exit__(None, None, None)
