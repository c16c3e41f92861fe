"""Recompute the snapshots and bottleneck verdict synchronously."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.models import Team
from funnel.pipeline.run import team_rebuild, team_recompute


class Command(BaseCommand):
    help = "Recompute every team's (or one team's) funnel metrics and bottleneck verdict now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", help="Slug of one team; all teams when left out.")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="First re-derive passages and weekly counts from the event log (slow, repairs "
            "any drift).",
        )

    def handle(self, *args, team: str | None, rebuild: bool, **options) -> None:
        teams = Team.objects.all()
        if team:
            teams = teams.filter(slug=team)
            if not teams.exists():
                raise CommandError(f"No team with slug {team!r}.")
        failed = []
        for t in teams:
            started = time.perf_counter()
            try:
                status = team_rebuild(team=t) if rebuild else team_recompute(team=t, winnable=True)
            except Exception as error:  # one team's failure must not stop the others
                failed.append(t.slug)
                self.stderr.write(f"{t.name}: failed: {error!r}")
                continue
            where = f" at {status.stage.name} ({status.station})" if status.stage else ""
            gap = f", gap {status.gap_per_week:.2f} won deals/week" if status.gap_per_week else ""
            self.stdout.write(
                f"{t.name}: {status.get_verdict_display()}{where}{gap} "
                f"— through event {status.watermark}, {time.perf_counter() - started:.2f} s"
            )
        if failed:
            raise CommandError(f"Recompute failed for {len(failed)} team(s): {', '.join(failed)}.")
