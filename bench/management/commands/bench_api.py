"""A 1,000-event batch through POST /api/v1/events against the same events by plain psycopg.

    python manage.py bench_api [--deals 100000] [--runs 5] [--batches 20] [--batch-size 1000]
                               [--profile N] [--queries]

A team with --deals stored deals. Each batch goes through the whole Django stack (middleware,
JSON parsing, token auth, schema and domain validation, writes, commit) with django.test.Client;
just before, the very same events are written by plain psycopg `executemany` and by COPY into the
same tables, rolled back (bench.event_floor: the floor). Each run prints the app's and the
floor's median and p95 batch time and their ratio; the verdict is on the medians over the runs
(target: the app within 2x the `executemany` floor, median and p95). The throwaway team is deleted
at the end unless --keep is given. PostgreSQL only.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import random
import secrets
import statistics
import time
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from bench.api_team import api_batches, deals_preload, tables_analyze, team_delete
from bench.event_floor import EventFloor, FloorBatch, floor_batch
from bench.measure import load_text, p95
from funnel.models import ApiToken, Deal, Role, Team
from funnel.pipeline.passages import team_flow_rebuild
from funnel.services import membership_add, team_create
from kaizen.celery import app as celery_app

TARGET = 2.0  # the app's batch within this many times the executemany floor
OWNERS = 8


@dataclass
class Run:
    app: list[float] = field(default_factory=list)
    executemany: list[float] = field(default_factory=list)
    copy: list[float] = field(default_factory=list)
    deals: list[float] = field(default_factory=list)
    accepted: int = 0
    load: str = ""


class Command(BaseCommand):
    help = "Benchmark the stage-event API against plain psycopg writing the same events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deals", type=int, default=100_000, help="Deals stored beforehand.")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--batches", type=int, default=20, help="Timed batches a run.")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--new-share", type=float, default=0.3, help="Share of new deals.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark team.")
        parser.add_argument(
            "--profile",
            type=int,
            default=0,
            metavar="N",
            help="Profile the app's requests (cProfile) and print the N costliest functions.",
        )
        parser.add_argument(
            "--queries",
            action="store_true",
            help="Print the statements Django's cursor ran for the last batch (the COPYs and "
            "staged statements of a plain psycopg cursor are not among them).",
        )

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The floor is plain psycopg: run it on PostgreSQL.")
        rng = random.Random(o["seed"])
        slug = f"bench-{secrets.token_hex(4)}"
        team = team_create(slug=slug, name=f"Benchmark {slug}")
        try:
            self._run(team, rng, o)
        finally:
            if o["keep"]:
                self.stdout.write(f"Kept team {slug}.")
            else:
                team_delete(team)

    def _run(self, team: Team, rng: random.Random, o: dict) -> None:
        stages = list(team.stages.order_by("position").values_list("slug", "id"))
        owners = [
            membership_add(team=team, email=f"rep{i}@{team.slug}.example.com", role=Role.REP)[2]
            for i in range(OWNERS)
        ]
        started = time.perf_counter()
        levels = deals_preload(team, stages, owners, o["deals"], rng)
        team_flow_rebuild(team=team)  # their passages and flow counts, as ingestion keeps them
        tables_analyze()
        self.stdout.write(
            f"Pre-loaded {o['deals']:,} deals with {sum(levels.values()):,} events "
            f"in {time.perf_counter() - started:.1f} s."
        )
        token, prefix, token_hash = ApiToken.generate()
        api_token = ApiToken.objects.create(
            team=team, name="bench", prefix=prefix, token_hash=token_hash
        )
        # One warm-up batch (imports, first statements, caches), then the runs' batches.
        count = 1 + o["runs"] * o["batches"]
        events = api_batches(
            stages,
            owners,
            levels,
            rng,
            count=count,
            size=o["batch_size"],
            new_share=o["new_share"],
        )
        deal_ids = dict(Deal.objects.filter(team=team).values_list("external_id", "id"))
        floors = [
            floor_batch(
                team_id=team.id,
                events=batch,
                deal_ids=deal_ids,
                stage_ids=dict(stages),
                owner_ids={user.email: user.id for user in owners},
                api_token_id=api_token.id,
            )
            for batch in events
        ]
        bodies = [json.dumps({"events": batch}).encode() for batch in events]
        del events, deal_ids
        # The benchmark's own data (100,000 deal ids, the prepared batches) must not make Python's
        # collector slower than in a server process: move it out of the collector's sight.
        gc.collect()
        gc.freeze()
        profiler = cProfile.Profile() if o["profile"] else None
        floor = EventFloor()
        runs: list[Run] = []
        try:
            with _posting() as post:
                floor.measure(floors[0])
                post(bodies[0], token, 0)
                for r in range(o["runs"]):
                    first = 1 + r * o["batches"]
                    picked = range(first, first + o["batches"])
                    last = o["queries"] and r == o["runs"] - 1
                    runs.append(
                        _run_batches(
                            [bodies[i] for i in picked],
                            [floors[i] for i in picked],
                            token,
                            floor,
                            post,
                            profiler,
                            self.stdout if last else None,
                        )
                    )
                    self._run_report(r + 1, runs[-1])
        finally:
            floor.close()
        if profiler:
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(o["profile"])
            stats.sort_stats("cumulative").print_stats("funnel|bulk", o["profile"])
            self.stdout.write(text.getvalue())
        self._report(runs, o)

    def _run_report(self, n: int, run: Run) -> None:
        app, floor = _stats(run.app), _stats(run.executemany)
        self.stdout.write(
            f"run {n}: app {_ms(app)}; executemany {_ms(floor)}; "
            f"COPY {_ms(_stats(run.copy))}; new deals {_ms(_stats(run.deals))}; "
            f"ratio {app[0] / floor[0]:.2f} (p95 {app[1] / floor[1]:.2f}); load {run.load}"
        )

    def _report(self, runs: list[Run], o: dict) -> None:
        def median_of(name: str, at: int) -> float:
            return statistics.median(_stats(getattr(run, name))[at] for run in runs)

        app50, app95 = median_of("app", 0), median_of("app", 1)
        em50, em95 = median_of("executemany", 0), median_of("executemany", 1)
        cp50, cp95 = median_of("copy", 0), median_of("copy", 1)
        dl50 = median_of("deals", 0)
        ratio50 = statistics.median(_stats(r.app)[0] / _stats(r.executemany)[0] for r in runs)
        ratio95 = statistics.median(_stats(r.app)[1] / _stats(r.executemany)[1] for r in runs)
        accepted = sum(run.accepted for run in runs)
        self.stdout.write(
            f"\n{len(runs)} runs of {o['batches']} batches of {o['batch_size']} events "
            f"({accepted:,} accepted), {o['deals']:,} deals stored; medians over the runs:\n"
            f"app (POST /api/v1/events): p50 {app50 * 1000:.1f} ms, p95 {app95 * 1000:.1f} ms "
            f"({o['batch_size'] / app50:,.0f} events/s)\n"
            f"floor, executemany of the events: p50 {em50 * 1000:.1f} ms, p95 {em95 * 1000:.1f} ms "
            f"({o['batch_size'] / em50:,.0f} events/s); the batch's new deals before it, "
            f"p50 {dl50 * 1000:.1f} ms\n"
            f"floor, COPY of the events: p50 {cp50 * 1000:.1f} ms, p95 {cp95 * 1000:.1f} ms\n"
            f"ratio app / executemany: p50 {ratio50:.2f}, p95 {ratio95:.2f} (target {TARGET}); "
            f"app / (new deals + executemany) p50 {app50 / (dl50 + em50):.2f}; "
            f"app / COPY p50 {app50 / cp50:.2f}\n"
            f"load average now {load_text()}; {os.cpu_count()} CPUs; "
            f"database {connection.settings_dict.get('NAME')}"
        )
        met = ratio50 <= TARGET and ratio95 <= TARGET
        style = self.style.SUCCESS if met else self.style.ERROR
        self.stdout.write(style("within 2x the floor" if met else "NOT within 2x the floor"))


def _stats(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), p95(times)


def _ms(stats: tuple[float, float]) -> str:
    return f"{stats[0] * 1000:.1f}/{stats[1] * 1000:.1f} ms"


def _run_batches(
    bodies: list[bytes],
    floors: list[FloorBatch],
    token: str,
    floor: EventFloor,
    post,
    profiler: cProfile.Profile | None,
    queries_out,
) -> Run:
    """Each batch by the floor, then by the app (the same events), timed apart."""
    run = Run(load=load_text())
    for i, (body, rows) in enumerate(zip(bodies, floors, strict=True)):
        times = floor.measure(rows)
        run.deals.append(times.deals)
        run.executemany.append(times.executemany)
        run.copy.append(times.copy)
        if profiler:
            profiler.enable()
        if queries_out is not None and i == len(bodies) - 1:
            with CaptureQueriesContext(connection) as captured:
                elapsed, accepted = post(body, token, i)
            for query in captured.captured_queries:
                queries_out.write(f"{query['time']} s: {query['sql'][:300]}")
        else:
            elapsed, accepted = post(body, token, i)
        if profiler:
            profiler.disable()
        run.app.append(elapsed)
        run.accepted += accepted
    return run


@contextlib.contextmanager
def _posting():
    """A function that POSTs one batch through the full stack: (seconds, events accepted)."""
    client = Client()
    # Each write schedules the team's recompute on commit. In production that is a message to a
    # worker; without a broker Celery would run the recompute inside the request.
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False

    def post(body: bytes, token: str, n: int) -> tuple[float, int]:
        t0 = time.perf_counter()
        response = client.post(
            "/api/v1/events",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
            secure=True,
        )
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"batch {n}: {response.status_code} {response.content[:500]}")
        return elapsed, response.json()["accepted"]

    try:
        # No rate limit: the benchmark measures the write path, not the throttle.
        with override_settings(
            ALLOWED_HOSTS=["testserver"], DEBUG=False, API_TOKEN_RATE="1000000000/s"
        ):
            yield post
    finally:
        celery_app.conf.task_always_eager = eager
