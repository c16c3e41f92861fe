"""Add a user to a team in a role: `add_member --team SLUG EMAIL ROLE`."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from funnel.models import Membership, Role, Team
from funnel.services import membership_add, password_reset_hint


class Command(BaseCommand):
    help = "Add a user (created if needed) to a team as rep, manager or executive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("email", help="The user's email; it is also their username.")
        parser.add_argument("role", help=f"One of: {', '.join(Role.values)}.")
        parser.add_argument("--name", default="", help='Full name of a new user: "Ana Costa".')

    def handle(self, *args, team: str, email: str, role: str, name: str, **options) -> None:
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
        try:
            validate_email(email.strip())
        except ValidationError as error:
            raise CommandError(f"{email!r} is not a valid email address.") from error
        team_obj = Team.objects.filter(slug=team).first()
        if team_obj is None:
            raise CommandError(f"No team with slug {team!r}.")
        before = (
            Membership.objects.filter(team=team_obj, user__username=email.strip().lower())
            .values_list("role", flat=True)
            .first()
        )
        _, created, user = membership_add(team=team_obj, email=email, role=role, name=name)
        label, where = Role(role).label.lower(), team_obj.name
        if created:
            message = f"Created user {user.username} as {label} of {where}."
        elif before is None:
            message = f"Added existing user {user.username} as {label} of {where}."
        elif before != role:
            old = Role(before).label.lower()
            message = f"Changed the role of {user.username} in {where} from {old} to {label}."
        else:
            message = f"{user.username} is already {label} of {where}; nothing changed."
        self.stdout.write(self.style.SUCCESS(message))
        if created:
            self.stdout.write(password_reset_hint(email=user.username))
