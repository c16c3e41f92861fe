"""The /healthz checks from the command line: the probe of the worker and beat containers."""

import json

from django.core.management.base import BaseCommand, CommandError

from kaizen.health import health_report


class Command(BaseCommand):
    help = (
        "Check that the database and the Celery broker answer, and report how long the oldest "
        "recompute request has waited. Prints the report as JSON; exits with status 1 when the "
        "database or the broker fails."
    )
    # A probe runs every few seconds: the system checks would only slow it down.
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        report = health_report()
        self.stdout.write(json.dumps(report.as_dict()))
        if not report.ok:
            raise CommandError(f"Unhealthy: {', '.join(report.failing)} failing.")
