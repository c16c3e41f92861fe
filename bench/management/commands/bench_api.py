"""Events per second through POST /api/v1/events, on a team that already holds many deals.

    python manage.py bench_api [--deals 100000] [--batches 30] [--batch-size 1000]

Each batch goes through the whole Django stack (middleware, JSON parsing, token auth, schema and
domain validation, writes, commit) with django.test.Client. The throwaway team is deleted at
the end unless --keep is given. Meant for PostgreSQL; the floor is 10,000 events/s.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import gc
import io
import json
import os
import pstats
import random
import secrets
import statistics
import time
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from bench.data import deals_delete, event_log_deletes
from funnel.bulk import rows_insert, rows_update
from funnel.ingest import DEAL_INSERT_FIELDS
from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import (
    ApiToken,
    Deal,
    DealStatus,
    Origin,
    Role,
    StageEvent,
    Team,
)
from funnel.pipeline.passages import team_flow_rebuild
from funnel.services import membership_add, team_create
from kaizen.celery import app as celery_app

FLOOR = 10_000
OWNERS = 8
SOURCES = ["Webinar", "Referral", "Outbound", "Trade show", "Website"]
DEPARTMENTS = ["Finance", "IT", "Operations", "Sales", "HR"]


class Command(BaseCommand):
    help = "Benchmark the stage-event API: events/s in batches, with many deals already stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deals", type=int, default=100_000, help="Deals stored beforehand.")
        parser.add_argument("--batches", type=int, default=30)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--new-share", type=float, default=0.3, help="Share of new deals.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark team.")
        parser.add_argument(
            "--profile",
            type=int,
            default=0,
            metavar="N",
            help="Profile the timed requests (cProfile) and print the N costliest functions.",
        )

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write(self.style.WARNING("Not PostgreSQL: the floor applies to it only."))
        rng = random.Random(o["seed"])
        slug = f"bench-{secrets.token_hex(4)}"
        team = team_create(slug=slug, name=f"Benchmark {slug}")
        try:
            self._run(team, rng, o)
        finally:
            if o["keep"]:
                self.stdout.write(f"Kept team {slug}.")
            else:
                _team_delete(team)

    def _run(self, team: Team, rng: random.Random, o: dict) -> None:
        stages = list(team.stages.order_by("position").values_list("slug", "id"))
        owners = [
            membership_add(team=team, email=f"rep{i}@{team.slug}.example.com", role=Role.REP)[2]
            for i in range(OWNERS)
        ]
        started = time.perf_counter()
        levels = _deals_preload(team, stages, owners, o["deals"], rng)
        team_flow_rebuild(team=team)  # their passages and flow counts, as ingestion keeps them
        _tables_analyze()
        self.stdout.write(
            f"Pre-loaded {o['deals']:,} deals with {sum(levels.values()):,} events "
            f"in {time.perf_counter() - started:.1f} s."
        )
        token, prefix, token_hash = ApiToken.generate()
        ApiToken.objects.create(team=team, name="bench", prefix=prefix, token_hash=token_hash)
        batches = [
            json.dumps({"events": b}).encode()
            for b in _batches(team, stages, owners, levels, rng, o)
        ]
        # The benchmark's own data (100,000 deal ids, the prepared batches) must not make Python's
        # collector slower than in a server process: move it out of the collector's sight.
        gc.collect()
        gc.freeze()
        load_before = os.getloadavg()
        cpu_before = time.process_time()
        profiler = cProfile.Profile() if o["profile"] else None
        if profiler:
            profiler.enable()
        times, accepted = _post_all(batches, token)
        cpu = time.process_time() - cpu_before
        if profiler:
            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(o["profile"])
            stats.sort_stats("cumulative").print_stats("funnel|bulk", o["profile"])
            self.stdout.write(text.getvalue())
        self._report(times, accepted, o["batch_size"], load_before, os.getloadavg(), cpu)

    def _report(self, times, accepted, size, load_before, load_after, cpu) -> None:
        total = sum(times)
        rate = accepted / total
        median = statistics.median(times)
        p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        self.stdout.write(
            f"{len(times)} batches of {size} events (after 1 warm-up), {accepted:,} accepted\n"
            f"throughput: {rate:,.0f} events/s (floor {FLOOR:,})\n"
            f"batch time: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms\n"
            f"each batch (ms): {', '.join(f'{t * 1000:.0f}' for t in times)}\n"
            f"load average (1, 5, 15 min): before {_load(load_before)}, after {_load(load_after)}; "
            f"{os.cpu_count()} CPUs; this process used {cpu:.1f} s CPU in "
            f"{total:.1f} s of timed requests (the rest: waiting for PostgreSQL or a core)\n"
            f"database: {connection.vendor} {connection.settings_dict.get('NAME')}"
        )
        style = self.style.SUCCESS if rate >= FLOOR else self.style.ERROR
        self.stdout.write(style("meets the floor" if rate >= FLOOR else "BELOW the floor"))


def _post_all(batches: list[bytes], token: str) -> tuple[list[float], int]:
    """POST each batch through the full stack; the times of all but the warm-up, and the count
    of events accepted."""
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    times: list[float] = []
    accepted = 0
    # Each write schedules the team's recompute on commit. In production that is a message to a
    # worker; without a broker Celery would run the recompute inside the request.
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        # No rate limit: the benchmark measures the write path, not the throttle.
        with override_settings(
            ALLOWED_HOSTS=["testserver"], DEBUG=False, API_TOKEN_RATE="1000000000/s"
        ):
            for n, body in enumerate(batches):
                t0 = time.perf_counter()
                response = client.post(
                    "/api/v1/events",
                    body,
                    content_type="application/json",
                    headers=headers,
                    secure=True,
                )
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    detail = response.content[:500]
                    raise RuntimeError(f"batch {n}: {response.status_code} {detail}")
                if n == 0:
                    continue  # warm-up: imports, first statements, caches
                times.append(elapsed)
                accepted += response.json()["accepted"]
    finally:
        celery_app.conf.task_always_eager = eager
    return times, accepted


def _tables_analyze() -> None:
    """Refresh the planner's statistics after the bulk load, as autovacuum would in time.

    Without them PostgreSQL takes the freshly filled tables for tiny ones and scans them whole
    for every `deal_id IN (...)` of a batch.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in apps.get_app_config("funnel").get_models():
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _deals_preload(team, stages, owners, count, rng) -> dict[str, int]:
    """Store `count` deals, each with events through its current stage; fast, set-based.

    Returns each deal's external id with the number of stages it has passed.
    """
    levels: dict[str, int] = {}
    now = timezone.now()
    chunk = 10_000
    for start in range(0, count, chunk):
        with transaction.atomic():
            deal_rows, specs = [], []
            for i in range(start, min(count, start + chunk)):
                ext = f"PRE-{i:07d}"
                level = rng.randint(1, 3)
                opened = now - dt.timedelta(days=rng.randint(30, 300))
                levels[ext] = level
                specs.append((ext, level, opened))
                deal_rows.append(
                    (
                        team.id,
                        ext,
                        rng.choice(owners).id,
                        Decimal(rng.randint(1_000, 90_000)),
                        f"Account {i % 5000}",
                        rng.choice(DEPARTMENTS),
                        rng.choice(SOURCES),
                        DealStatus.OPEN,
                        "",
                        now,
                        now,
                    )
                )
            ids = dict(
                rows_insert(Deal, DEAL_INSERT_FIELDS, deal_rows, returning=("external_id", "id"))
            )
            event_rows, positions = [], []
            for ext, level, opened in specs:
                for step in range(level):
                    event_rows.append(
                        (
                            team.id,
                            ids[ext],
                            stages[step][1],
                            "",
                            "",
                            opened + dt.timedelta(days=7 * step),
                            now,
                            f"pre-{ext}-{step}",
                            Origin.SEED,
                            None,
                            None,
                        )
                    )
                entered = opened + dt.timedelta(days=7 * (level - 1))
                positions.append((stages[level - 1][1], entered, opened, entered, ids[ext]))
            rows_insert(
                StageEvent,
                EVENT_FIELDS,
                event_rows,
            )
            rows_update(
                Deal,
                ("current_stage_id", "stage_entered_at", "opened_at", "last_event_at"),
                positions,
            )
    return levels


def _batches(team, stages, owners, levels, rng, o) -> list[list[dict]]:
    """Realistic batches: new deals with their first events and attributes, and existing deals
    moving on a stage or closing. One more batch than asked: the first is the warm-up."""
    now = timezone.now()
    existing = list(levels)
    rng.shuffle(existing)
    batches: list[list[dict]] = []
    new_n = 0
    for b in range(o["batches"] + 1):
        events: list[dict] = []
        while len(events) < o["batch_size"]:
            if rng.random() < o["new_share"]:
                new_n += 1
                ext = f"NEW-{new_n:07d}"
                opened = now - dt.timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 999))
                events.append(
                    {
                        "id": f"{ext}-0",
                        "deal": {
                            "id": ext,
                            "owner": rng.choice(owners).email,
                            "account": f"New account {new_n}",
                            "department": rng.choice(DEPARTMENTS),
                            "source": rng.choice(SOURCES),
                            "amount": str(rng.randint(1_000, 90_000)),
                        },
                        "stage": stages[0][0],
                        "occurred_at": opened.isoformat(),
                    }
                )
                if rng.random() < 0.5 and len(events) < o["batch_size"]:
                    events.append(
                        {
                            "id": f"{ext}-1",
                            "deal": {"id": ext},
                            "stage": stages[1][0],
                            "occurred_at": (opened + dt.timedelta(hours=20)).isoformat(),
                        }
                    )
            else:
                ext = existing.pop()
                level = levels[ext]
                at = (now - dt.timedelta(hours=rng.randint(1, 500))).isoformat()
                event = {"id": f"{ext}-{b}-{level}", "deal": {"id": ext}, "occurred_at": at}
                roll = rng.random()
                if roll < 0.1:
                    event["outcome"] = "won"
                elif roll < 0.25:
                    event |= {"outcome": "lost", "lost_reason": "No budget"}
                else:
                    event["stage"] = stages[min(level, len(stages) - 1)][0]
                if rng.random() < 0.2:
                    event["deal"]["amount"] = str(rng.randint(1_000, 90_000))
                events.append(event)
        batches.append(events)
    return batches


def _team_delete(team: Team) -> None:
    """Remove the benchmark team: its deals and what refers to them set-based (then vacuumed and
    analyzed), the team, and the users only it had."""
    users = list(team.memberships.values_list("user_id", flat=True))
    deals_delete("team_id = %s", [team.id], analyze=True)
    with transaction.atomic(), event_log_deletes():
        team.delete()
        get_user_model().objects.filter(id__in=users, memberships__isnull=True).delete()
