"""Create a team's API token and print it once: `create_api_token --team SLUG NAME`."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.api.services import api_token_create
from funnel.models import ApiToken, Team


class Command(BaseCommand):
    help = "Create an API token for a team. The token is printed once and never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("name", help='Who uses it, e.g. "HubSpot sync".')
        parser.add_argument(
            "--manage",
            action="store_true",
            help="The token may also change the team's stage list (PUT /api/v1/stages).",
        )

    def handle(self, *args, team: str, name: str, manage: bool = False, **options) -> None:
        found = Team.objects.filter(slug=team).first()
        if found is None:
            raise CommandError(f"No team with slug {team!r}.")
        name = name.strip()
        if not name:
            raise CommandError("The token needs a name (who uses it).")
        if len(name) > ApiToken._meta.get_field("name").max_length:
            raise CommandError("The name is too long (at most 80 characters).")
        _, token = api_token_create(team=found, name=name, can_manage=manage)
        self.stdout.write(self.style.SUCCESS(f"Created API token {name!r} for {found.name}:"))
        self.stdout.write(token)
        self.stdout.write(
            self.style.WARNING(
                "Copy it now: it is not shown again (only its hash is stored). "
                "Send it as: Authorization: Bearer <token>"
            )
        )
