"""Report orphans and team mismatches that the dropped database foreign keys allow."""

from django.core.management.base import BaseCommand, CommandError

from funnel.integrity import integrity_check


class Command(BaseCommand):
    help = (
        "Report rows whose team, deal, stage, characteristic or user is gone or belongs to "
        "another team. Changes nothing; exits with status 1 when it finds any."
    )

    def handle(self, *args, **options) -> None:
        report = integrity_check()
        if report.ok:
            self.stdout.write(self.style.SUCCESS("No orphans and no team mismatches."))
            return
        for line in report.lines():
            self.stdout.write(line)
        raise CommandError(f"{sum(report.counts().values()):,} row(s) need attention.")
