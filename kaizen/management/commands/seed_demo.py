"""Load a realistic, deterministic year of demo data: `seed_demo [--reset] [--deals N]`.

Two teams (Enterprise, Mid-Market) with their managers, reps and an executive, a year of deals
with full stage histories and observations. Running it again changes nothing but the demo
passwords (reset on every run); `--reset` deletes the two demo teams and builds them again.

The data goes in through the services every other writer uses (team_create, membership_add,
stage_events_ingest, observations_record_bulk), so it is checked the same way and the recompute
derives the passages and figures from it as from any import. Then, on freshly loaded teams,
the PDCA story (kaizen.services.demo): agreements to the definitions, a definition changed
mid-year, and Enterprise's cycles with their computed Checks. The command lives in kaizen, the
composition root, because the story uses both layers.
"""

import dataclasses
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from funnel.deals.services import ObservationNew, observations_record_bulk
from funnel.demo_data import DemoDeal, demo_deals
from funnel.demo_teams import DEMO_PASSWORD, DEMO_SEED, DEMO_TEAMS, DEMO_USERS
from funnel.ingest import MAX_BATCH, EventIn, stage_events_ingest
from funnel.models import Characteristic, Origin, Role, StageEvent, Team
from funnel.pipeline.run import team_recompute
from funnel.services import membership_add, team_create, team_delete
from funnel.touches.demo import TACTIC_CHANGES, demo_touches
from funnel.touches.ingest import touches_ingest
from kaizen.models import StandardWork
from kaizen.services.demo import demo_story_build

URL = "http://127.0.0.1:8000/"
DEMO_ADMIN = ("Ada Admin", "admin@demo.kaizen")


def demo_anchor() -> datetime:
    """Midnight at the start of today: the data is the same all day and ends before now."""
    today = timezone.localdate()
    return timezone.make_aware(datetime(today.year, today.month, today.day))


class Command(BaseCommand):
    help = "Load two demo teams with a year of deals, stage histories and observations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo teams and build them again."
        )
        parser.add_argument(
            "--deals",
            type=int,
            default=None,
            help="Deals for the Enterprise team (Mid-Market gets proportionally fewer); "
            f"default {DEMO_TEAMS[0].deals}.",
        )
        parser.add_argument(
            "--url", default=URL, help=f"Where the app will be served, for the message; {URL}."
        )

    def handle(self, *args, reset: bool, deals: int | None, url: str, **options) -> None:
        started = time.monotonic()
        anchor = demo_anchor()
        scale = deals / DEMO_TEAMS[0].deals if deals else 1.0
        fresh = []
        with transaction.atomic():
            if reset:
                self._delete_demo_teams()
            # One hash for every demo user: hashing is slow on purpose, and these share a password.
            password = make_password(DEMO_PASSWORD)
            for profile in DEMO_TEAMS:
                team = Team.objects.filter(slug=profile.slug).first()
                if team is None:
                    team = team_create(slug=profile.slug, name=profile.name)
                users = self._users(team, password=password)
                if StageEvent.objects.filter(team=team, origin=Origin.SEED).exists():
                    self.stdout.write(f"{team.name}: demo deals already loaded, left as they are.")
                    continue
                count = max(1, round(profile.deals * scale))
                generated = demo_deals(
                    profile=dataclasses.replace(profile, deals=count),
                    anchor=anchor,
                    seed=f"{profile.seed or DEMO_SEED}-{profile.slug}",
                )
                written = self._write(team=team, deals=generated, users=users)
                fresh.append(team)
                self.stdout.write(
                    f"{team.name}: {written[0]} deals, {written[1]} stage events, "
                    f"{written[2]} observations, {written[3]} touches."
                )
            self._admin(password=password)
        for team in Team.objects.filter(slug__in=[p.slug for p in DEMO_TEAMS]):
            status = team_recompute(team=team)
            self.stdout.write(f"{team.name}: {status.get_verdict_display().lower()}.")
        for team in fresh:
            story = demo_story_build(team=team, anchor=anchor)
            self.stdout.write(
                f"{team.name}: {story.agreements} agreements, {story.versions} definition "
                f"changed, {len(story.cycles)} PDCA cycles."
            )
        self._print_logins(url)
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")

    def _admin(self, *, password: str) -> None:
        """The demo administrator: a superuser who creates teams (/teams/new/)."""
        first, _, last = DEMO_ADMIN[0].partition(" ")
        get_user_model().objects.update_or_create(
            username=DEMO_ADMIN[1],
            defaults={
                "email": DEMO_ADMIN[1],
                "first_name": first,
                "last_name": last,
                "is_staff": True,
                "is_superuser": True,
                "password": password,
            },
        )

    def _delete_demo_teams(self) -> None:
        teams = list(Team.objects.filter(slug__in=[p.slug for p in DEMO_TEAMS]))
        # Standard work protects the cycle it came from; the demo's goes with its team.
        StandardWork.objects.filter(team__in=teams).delete()
        for team in teams:
            team_delete(team=team)
        names = ", ".join(t.name for t in teams) or "none found"
        self.stdout.write(f"Deleted the demo teams ({names}).")

    def _users(self, team: Team, *, password: str) -> dict:
        """The team's demo users, created or reset to the demo password; email -> user."""
        users = {}
        for demo in (u for u in DEMO_USERS if u.team == team.slug):
            _, _, user = membership_add(team=team, email=demo.email, role=demo.role, name=demo.name)
            user.password = password
            user.save(update_fields=["password"])
            users[demo.email] = user
        return users

    def _write(self, *, team: Team, deals: list[DemoDeal], users: dict) -> tuple[int, ...]:
        """The deals and their events through the ingest, recorded by each deal's owner (one
        batch per owner at a time), then their observations, made by the owner too, then the
        touches of their prospects. The runs below recompute the teams, so no write asks for
        one."""
        by_owner: dict[str, list[DemoDeal]] = defaultdict(list)
        for demo in deals:
            by_owner[demo.owner].append(demo)
        deal_ids: dict[str, int] = {}
        events = 0
        for email, owned in by_owner.items():
            for batch in _batches(owned):
                result = stage_events_ingest(
                    team=team,
                    events=[event for demo in batch for event in _events_in(team, demo)],
                    origin=Origin.SEED,
                    by=users[email],
                    schedule_recompute=False,
                )
                deal_ids.update(result.created_deals)
                events += result.accepted
        characteristics = dict(Characteristic.objects.filter(team=team).values_list("slug", "id"))
        observations = observations_record_bulk(
            team=team,
            observations=[
                ObservationNew(
                    deal_id=deal_ids[demo.external_id],
                    characteristic_id=characteristics[o.characteristic_slug],
                    value=o.value,
                    observed_at=o.observed_at,
                    observed_by_id=users[demo.owner].pk,
                    evidence=o.evidence,
                )
                for demo in deals
                for o in demo.observations
            ],
            origin=Origin.SEED,
            schedule_recompute=False,
        )
        touches = demo_touches(
            deals=[(demo.external_id, demo.events[0].occurred_at) for demo in deals if demo.events],
            seed=team.slug,
            now=timezone.localtime(),
            changes=TACTIC_CHANGES.get(team.slug, ()),
        )
        for start in range(0, len(touches), MAX_BATCH):
            touches_ingest(
                team=team, touches=touches[start : start + MAX_BATCH], origin=Origin.SEED
            )
        return len(deal_ids), events, observations, len(touches)

    def _print_logins(self, url: str) -> None:
        names = {p.slug: p.name for p in DEMO_TEAMS}
        header = ("role", "team", "name", "email", "password")
        table = [("Administrator", "creates teams", *DEMO_ADMIN, DEMO_PASSWORD)]
        table += [
            (
                Role(u.role).label,
                "all teams" if u.role == Role.EXECUTIVE else names[u.team],
                u.name,
                u.email,
                DEMO_PASSWORD,
            )
            for u in sorted(DEMO_USERS, key=lambda u: (u.role != Role.EXECUTIVE, u.team, u.role))
        ]
        widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins — open {url}"))
        self.stdout.write(line.format(*header).rstrip())
        self.stdout.write(line.format(*("-" * w for w in widths)))
        for row in table:
            self.stdout.write(line.format(*row).rstrip())


def _batches(deals: list[DemoDeal]) -> Iterator[list[DemoDeal]]:
    """Whole deals, at most MAX_BATCH events a batch."""
    batch: list[DemoDeal] = []
    size = 0
    for demo in deals:
        if batch and size + len(demo.events) > MAX_BATCH:
            yield batch
            batch, size = [], 0
        batch.append(demo)
        size += len(demo.events)
    if batch:
        yield batch


def _events_in(team: Team, demo: DemoDeal) -> list[EventIn]:
    """The deal's events as a CRM would send them; the first carries the deal's details."""
    events = [
        EventIn(
            event_id=f"seed-{team.slug}-{demo.external_id}-{n}",
            deal_external_id=demo.external_id,
            occurred_at=e.occurred_at,
            stage=e.stage_slug,
            outcome=e.outcome or None,
            lost_reason=e.lost_reason,
        )
        for n, e in enumerate(demo.events, start=1)
    ]
    first = events[0]
    first.owner_email = demo.owner
    first.account = demo.account
    first.department = demo.department
    first.source = demo.source
    first.amount = demo.amount
    return events
