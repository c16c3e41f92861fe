"""Import touches and answers from a marketing export:

    import_touches --team SLUG --format bank-marketing bank-additional-full.csv
    import_touches --team SLUG --format olist leads.csv --closed-deals closed_deals.csv

How each file maps is written in funnel/touches/imports.py. The file is checked whole first:
every bad row is printed with its line and column and nothing is written. Re-running it adds
nothing (touch ids come from the file). The tactics it names are created when missing.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.models import Team
from funnel.touches.imports import (
    FORMATS,
    TouchImportError,
    bank_marketing_parse,
    olist_parse,
    touches_import,
)

MAX_PROBLEMS_SHOWN = 50


class Command(BaseCommand):
    help = "Import touches and answers from a marketing export (bank-marketing or olist)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CSV file (olist: the qualified-leads file).")
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--closed-deals", help="olist: the closed-deals file.")
        parser.add_argument("--by", help="Email of the user the import is recorded as by.")
        parser.add_argument(
            "--validate-only", action="store_true", help="Check the file; write nothing."
        )

    def handle(self, *args, path: str, team: str, **options) -> None:
        team_obj = Team.objects.filter(slug=team).first()
        if team_obj is None:
            raise CommandError(f"No team with slug {team!r}.")
        by = None
        if options.get("by"):
            by = get_user_model().objects.filter(email__iexact=options["by"]).first()
            if by is None:
                raise CommandError(f"No user with email {options['by']!r}.")
        try:
            if options["format"] == "olist":
                if not options.get("closed_deals"):
                    raise CommandError("The olist format needs --closed-deals FILE.")
                parsed = olist_parse(Path(path), Path(options["closed_deals"]))
            else:
                parsed = bank_marketing_parse(Path(path))
            result = touches_import(
                team=team_obj, parsed=parsed, by=by, dry_run=options["validate_only"]
            )
        except OSError as error:
            raise CommandError(f"Cannot read the file: {error}") from error
        except (TouchImportError, UnicodeDecodeError) as error:
            for problem in getattr(error, "problems", [])[:MAX_PROBLEMS_SHOWN]:
                self.stderr.write(str(problem))
            raise CommandError(str(error)) from error
        answered = sum(1 for t in parsed.touches if t.responded)
        verb = "would import" if options["validate_only"] else "imported"
        self.stdout.write(
            f"{len(parsed.touches):,} touches in the file ({answered:,} answered) on "
            f"{len(parsed.tactics)} tactics; {verb} {result.accepted:,}, "
            f"{result.duplicates:,} already there."
        )
