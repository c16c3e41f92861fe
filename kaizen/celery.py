"""The Celery app, wired the way Celery's "First steps with Django" guide does it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaizen.settings")

app = Celery("kaizen")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules live beside what they run (the pipeline, the imports, the kaizen loop).
app.autodiscover_tasks(lambda: ["funnel.pipeline", "funnel.imports", "kaizen"])

# Every task's writes name the task in the audit history.
import funnel.audit.tasks  # noqa: E402, F401
