"""Benchmark the winnable analysis: `bench_winnable [--deals 100000] [--characteristics 20]`.

PostgreSQL only. Generates a team ("bench-winnable", rebuilt on every run) with that many
closed deals over two years and that many active characteristics, about 0.85 observations per
deal and characteristic (a fifth of them with an earlier, superseded value and some recorded
after the close, which the analysis must ignore), written set-based with generate_series.
Then it times the aggregate recompute and the analysis pages' server time through
django.test.Client (median and p95 of --runs GETs after one warm-up).
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from bench.data import event_log_deletes
from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    Observation,
    Role,
    Team,
    WinnableCount,
)
from funnel.services import membership_add, team_create
from funnel.winnable.services import team_winnable_recompute

SLUG = "bench-winnable"
CHOICES = ["Alpha", "Beta", "Gamma", "Delta"]


class Command(BaseCommand):
    help = "Time the winnable aggregate recompute and analysis page on generated data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--characteristics", type=int, default=20)
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument(
            "--reuse", action="store_true", help="Time the existing benchmark team again."
        )

    def handle(self, *args, deals: int, characteristics: int, runs: int, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_winnable runs on PostgreSQL (set DATABASE_URL).")
        started = time.perf_counter()
        team = Team.objects.filter(slug=SLUG).first() if options["reuse"] else None
        if team is None:
            team, manager = self._team(characteristics)
            self._generate(team, deals)
        else:
            manager = team.memberships.get(role=Role.MANAGER).user
        self.stdout.write(
            f"{Deal.objects.filter(team=team).count():,} closed deals, "
            f"{Characteristic.objects.filter(team=team, is_active=True).count()} characteristics, "
            f"{Observation.objects.filter(deal__team=team).count():,} observations "
            f"(generated in {time.perf_counter() - started:.1f} s)."
        )
        started = time.perf_counter()
        rows = team_winnable_recompute(team=team)
        self.stdout.write(
            f"Aggregate recompute: {time.perf_counter() - started:.2f} s "
            f"({rows:,} WinnableCount rows)."
        )
        client = Client()
        client.force_login(manager)
        for label, url, params in (
            ("analysis, all time", reverse("winnable_team", args=[SLUG]), {"period": "all"}),
            ("analysis, last 12 months", reverse("winnable_team", args=[SLUG]), {"period": "12"}),
            ("analysis, htmx filter", reverse("winnable_team", args=[SLUG]), {"period": "6"}),
            ("departments, all time", reverse("departments_team", args=[SLUG]), {"period": "all"}),
        ):
            headers = {"HX-Request": "true"} if "htmx" in label else {}
            self._time(client, label, url, params, headers, runs)

    def _team(self, count: int):
        old = Team.objects.filter(slug=SLUG).first()
        if old is not None:
            # Set-based: the ORM would load every observation to cascade the delete.
            with event_log_deletes(), connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {Observation._meta.db_table} WHERE deal_id IN "
                    f"(SELECT id FROM {Deal._meta.db_table} WHERE team_id = %s)",
                    [old.id],
                )
                cursor.execute(
                    f"DELETE FROM {WinnableCount._meta.db_table} WHERE team_id = %s", [old.id]
                )
                cursor.execute(f"DELETE FROM {Deal._meta.db_table} WHERE team_id = %s", [old.id])
                old.delete()
        team = team_create(slug=SLUG, name="Benchmark (winnable)")
        existing = list(Characteristic.objects.filter(team=team).order_by("position"))
        for c in existing[count:]:
            c.is_active = False
            c.save(update_fields=["is_active"])
        for i in range(len(existing), count):
            yes_no = i % 2 == 0
            Characteristic.objects.create(
                team=team,
                slug=f"bench-{i}",
                name=f"Bench characteristic {i}",
                kind=CharacteristicKind.YES_NO if yes_no else CharacteristicKind.CHOICE,
                choices=[] if yes_no else CHOICES,
                position=i + 1,
            )
        _, _, manager = membership_add(
            team=team, email="bench.manager@example.com", role=Role.MANAGER
        )
        return team, manager

    def _generate(self, team: Team, deals: int) -> None:
        deal_table, obs_table = Deal._meta.db_table, Observation._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")
            cursor.execute(
                f"""
                INSERT INTO {deal_table} (team_id, external_id, account, department, source,
                    amount, status, lost_reason, opened_at, closed_at, created_at, updated_at)
                SELECT %s, 'B-' || i, '', (ARRAY['Finance','IT','Operations','Sales','HR',''])
                       [1 + floor(random() * 6)::int], '', round((random() * 90000)::numeric, 2),
                       CASE WHEN random() < 0.3 THEN 'won' ELSE 'lost' END, '',
                       c - interval '60 days', c, now(), now()
                FROM (SELECT i, now() - random() * interval '730 days' AS c
                      FROM generate_series(1, %s) AS i) AS g
                """,
                [team.id, deals],
            )
            # Each deal and active characteristic: an observation with probability 0.85, a
            # fifth of them preceded by an older value and some recorded after the close.
            cursor.execute(
                f"""
                INSERT INTO {obs_table} (deal_id, characteristic_id, value, observed_at,
                    recorded_at, evidence, origin)
                SELECT d.id, ch.id,
                       CASE WHEN ch.kind = 'yes_no'
                            THEN (ARRAY['yes','no'])[1 + floor(random() * 2)::int]
                            ELSE (ARRAY['Alpha','Beta','Gamma','Delta','Finance','IT'])
                                 [1 + floor(random() * 4)::int] END,
                       d.closed_at - (r.k * 10 + random() * 9 - 1) * interval '1 day',
                       now(), '', 'seed'
                FROM {deal_table} d
                JOIN {Characteristic._meta.db_table} ch
                  ON ch.team_id = d.team_id AND ch.is_active
                CROSS JOIN LATERAL (SELECT generate_series(0, CASE WHEN random() < 0.2
                                    THEN 1 ELSE 0 END) AS k) r
                WHERE d.team_id = %s AND random() < 0.85
                """,
                [team.id],
            )
            cursor.execute(f"ANALYZE {deal_table}")
            cursor.execute(f"ANALYZE {obs_table}")

    def _time(self, client: Client, label: str, url: str, params, headers, runs: int) -> None:
        with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver", "*"]):
            response = client.get(url, params, headers=headers)  # warm-up
            if response.status_code != 200:
                raise CommandError(f"{url}: HTTP {response.status_code}")
            timings = []
            for _ in range(runs):
                reset_queries()
                started = time.perf_counter()
                client.get(url, params, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        self.stdout.write(
            f"{label:<28} median {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms   "
            f"({len(response.content):,} bytes)"
        )
