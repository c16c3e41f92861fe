"""Set a team's stage list from a JSON file: `stages_load --team SLUG PATH`."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.models import Team
from funnel.stages.load import StageListError, stages_replace


class Command(BaseCommand):
    help = (
        "Make a team's stage list the JSON list in PATH, in funnel order: "
        '[{"slug": "submitted", "name": "Submitted", "station": "market", '
        '"target_conversion": 0.5, "target_days": 7}, ...]. Stages left out are retired '
        "(kept for their history). Loading the list the team has changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("path", help="The JSON file.")

    def handle(self, *args, team: str, path: str, **options) -> None:
        found = Team.objects.filter(slug=team).first()
        if found is None:
            raise CommandError(f"No team with slug {team!r}.")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {path}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not a JSON file: {exc}") from exc
        try:
            result = stages_replace(team=found, data=data)
        except StageListError as exc:
            lines = "\n".join(f"  {e}" for e in exc.errors)
            raise CommandError(f"{path}: nothing changed; fix these:\n{lines}") from exc
        self.stdout.write(self.style.SUCCESS(f"{found.name}: {result.summary()}"))
