"""`manage.py history_export --team <slug> --out file.csv`: a team's audit history as CSV."""

import csv

from django.core.management.base import BaseCommand, CommandError

from funnel.history.export import history_csv_rows
from funnel.history.selectors import history_available
from funnel.models import Team


class Command(BaseCommand):
    help = "Write a team's audit history (who changed what, when) to a CSV file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--out", required=True, help="The CSV file to write.")

    def handle(self, *args, team: str, out: str, **options) -> None:
        found = Team.objects.filter(slug=team).first()
        if found is None:
            raise CommandError(f"No team with the slug {team!r}.")
        if not history_available():
            raise CommandError("History is recorded on PostgreSQL only; this database keeps none.")
        rows = 0
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for row in history_csv_rows(team=found):
                writer.writerow(row)
                rows += 1
        self.stdout.write(f"{rows - 1} history row(s) of {found.name} written to {out}.")
