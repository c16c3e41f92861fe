"""Create a team with the default stages and characteristics: `create_team SLUG "NAME"`."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from funnel.models import Station, Team
from funnel.services import team_create


class Command(BaseCommand):
    help = "Create a team with the default funnel stages, characteristics and their definitions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Short id used in URLs, e.g. north-region.")
        parser.add_argument("name", help='Display name, e.g. "North Region".')

    def handle(self, *args, slug: str, name: str, **options) -> None:
        try:
            validate_slug(slug)
        except ValidationError as error:
            raise CommandError(f"{slug!r} is not a valid slug: {error.messages[0]}") from error
        if len(slug) > Team._meta.get_field("slug").max_length:
            raise CommandError(f"{slug!r} is too long for a slug.")
        if not name.strip():
            raise CommandError("The team name must not be empty.")
        if Team.objects.filter(slug=slug).exists():
            raise CommandError(f"A team with slug {slug!r} already exists.")
        team = team_create(slug=slug, name=name.strip())
        self.stdout.write(self.style.SUCCESS(f"Created team {team.name} ({team.slug})."))
        self.stdout.write("Stages:")
        for stage in team.stages.order_by("position"):
            station = Station(stage.station).label
            self.stdout.write(f"  {stage.position}. {stage.name:<12} station: {station}")
        names = ", ".join(c.name for c in team.characteristics.order_by("position"))
        self.stdout.write(f"Characteristics: {names}")
