"""Past one machine: a company of many teams, its nightly rebuild and a burst of batches with
one and then two real Celery worker processes (PostgreSQL and Redis).

    python manage.py bench_scale load --teams 100 --deals 10000000 [--part 0/2]
    python manage.py bench_scale prepare
    python manage.py bench_scale rebuild --workers 1,2 [--repeat 1] [--rebuild-teams N]
        [--floor-only] [--rewrite]
    python manage.py bench_scale burst --workers 1,2 [--batches 200] [--batch-size 1000]
        [--burst-teams 50] [--repeat 3]
    python manage.py bench_scale partition [--repeat 5] [--partitions 8]
    python manage.py bench_scale drop

`load` creates teams scale-000.. with skewed sizes (bench.scale.team_sizes) and COPYs a
generated year into each, then VACUUM ANALYZE; `--part k/n` loads only every n-th team
(start n loads in parallel). `prepare` makes every team's weekly counts from its passages and
its first verdict with the winnable counts, as after a nightly run. The other steps measure the
loaded company; see docs/performance.md ("Past one machine").
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.data import tables_analyze, team_bench_delete
from bench.measure import load_text
from bench.partition import partition_compare, partitioned_copy_create, partitioned_copy_drop
from bench.scale import scale_team_load, scale_teams, table_sizes, team_sizes, timed
from bench.scale_runs import (
    Workers,
    broker_use,
    burst_drain,
    burst_ingest,
    burst_makers,
    floor_run,
    rebuild_run,
)
from funnel.models import Deal, DealPassage
from funnel.pipeline.flow_from_passages import team_flow_from_passages
from funnel.pipeline.run import team_recompute


class Command(BaseCommand):
    help = "Benchmark many teams: nightly rebuild and batch bursts with 1 and 2 workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "step", choices=["load", "prepare", "rebuild", "burst", "partition", "drop"]
        )
        parser.add_argument("--teams", type=int, default=100)
        parser.add_argument("--deals", type=int, default=10_000_000)
        parser.add_argument("--part", default="0/1", help="k/n: load every n-th team from k.")
        parser.add_argument(
            "--indexes", default="", help="start:stop:step, instead of --part (e.g. 98:60:-2)."
        )
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--workers", default="1,2", help="Worker processes to compare.")
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--batches", type=int, default=200)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--burst-teams", type=int, default=50)
        parser.add_argument("--partitions", type=int, default=8)
        parser.add_argument(
            "--rebuild-teams", type=int, default=0, help="Rebuild only the N smallest teams."
        )
        parser.add_argument("--floor-only", action="store_true", help="Only the SQL floor.")
        parser.add_argument(
            "--rewrite",
            action="store_true",
            help="Delete the teams' passages before each rebuild (not timed): it writes all.",
        )
        parser.add_argument(
            "--broker",
            default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/13",
            help="Redis URL the workers and this process share.",
        )

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_scale needs PostgreSQL (COPY, advisory locks); set "
                "DATABASE_URL=postgres://... and run `manage.py migrate` there first."
            )
        getattr(self, f"_{o['step']}")(o)

    def _load(self, o: dict) -> None:
        k, n = (int(v) for v in o["part"].split("/"))
        sizes = team_sizes(teams=o["teams"], deals=o["deals"])
        self.out(
            f"{o['teams']} teams, {o['deals']:,} deals: largest {sizes[0]:,}, "
            f"median {sizes[len(sizes) // 2]:,}, smallest {sizes[-1]:,}; part {k}/{n}, "
            f"load {load_text()}"
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        started = time.perf_counter()
        deals = events = 0
        indexes = range(k, o["teams"], n)
        if o["indexes"]:
            indexes = range(o["teams"])[slice(*(int(v) for v in o["indexes"].split(":")))]
        for index in indexes:
            t0 = time.perf_counter()
            d, e = scale_team_load(index=index, deals=sizes[index], now=now, seed=o["seed"])
            deals, events = deals + d, events + e
            self.out(
                f"team {index:03d}: {d:,} deals, {e:,} events in "
                f"{time.perf_counter() - t0:.1f} s (load {load_text()})"
            )
        loaded = time.perf_counter() - started
        t0 = time.perf_counter()
        tables_analyze()
        self.out(
            f"loaded {deals:,} deals, {events:,} events in {loaded:.0f} s "
            f"({deals / loaded:,.0f} deals/s), VACUUM ANALYZE {time.perf_counter() - t0:.0f} s; "
            "sizes: "
            + ", ".join(f"{t} {b / 2**30:.2f} GiB" for t, b in table_sizes().items())
            + f" (load {load_text()})"
        )

    def _workers(self, o: dict) -> list[int]:
        return [int(n) for n in o["workers"].split(",")]

    def _teams(self) -> list:
        teams = scale_teams()
        if not teams:
            raise CommandError("no scale-* teams: run `bench_scale load` first")
        return teams

    def _prepare(self, o: dict) -> None:
        teams = self._teams()
        flow = recompute = 0.0
        for team in teams:
            flow += timed(lambda team=team: team_flow_from_passages(team=team))
            recompute += timed(lambda team=team: team_recompute(team=team, winnable=True))
        deals = Deal.objects.count()
        self.out(
            f"{len(teams)} teams, {deals:,} deals: weekly counts from the passages (set-based) "
            f"{flow:.0f} s, then each team's recompute with its winnable counts {recompute:.0f} s, "
            f"one process (load {load_text()})"
        )

    def _rebuild(self, o: dict) -> None:
        teams = self._teams()
        if o["rebuild_teams"]:
            teams = teams[-o["rebuild_teams"] :]
        ids = [t.id for t in teams]  # largest first (the slugs number them by size)
        deals = Deal.objects.filter(team_id__in=ids).count()
        self.out(f"nightly rebuild of {len(ids)} teams, {deals:,} deals (load {load_text()})")
        broker_use(o["broker"])
        for _ in range(o["repeat"]):
            for n in self._workers(o):
                floor = floor_run(ids, connections=n)
                self.out(
                    f"floor, plain SQL on {n} connection(s): {floor:.1f} s, "
                    f"{deals / floor:,.0f} deals/s (load {load_text()})"
                )
                if o["floor_only"]:
                    continue
                if o["rewrite"]:  # the worst night: no stored passage is right
                    DealPassage.objects.filter(team_id__in=ids)._raw_delete(DealPassage.objects.db)
                with Workers(n, o["broker"]) as workers:
                    took = rebuild_run(ids)
                    self.out(
                        f"app, nightly rebuild{' (every passage written)' * o['rewrite']} with "
                        f"{n} worker(s): {took:.1f} s, "
                        f"{deals / took:,.0f} deals/s, ratio to the floor {took / floor:.1f}x; "
                        f"worker max RSS {workers.peak_rss()} (load {load_text()})"
                    )

    def _burst(self, o: dict) -> None:
        os.environ["WINNABLE_REFRESH_SECONDS"] = "86400"  # the verdict only, as after a batch
        teams = self._teams()
        step = max(1, len(teams) // o["burst_teams"])
        teams = teams[::step][: o["burst_teams"]]
        makers = burst_makers(teams)
        events = o["batches"] * o["batch_size"]
        self.out(
            f"burst: {o['batches']} batches of {o['batch_size']:,} events over {len(teams)} "
            f"teams (every {step}th by size), {o['repeat']} run(s) per worker count "
            f"(load {load_text()})"
        )
        broker_use(o["broker"])
        for n in self._workers(o):
            with Workers(n, o["broker"]) as workers:
                for _ in range(o["repeat"]):
                    ingest = burst_ingest(teams, makers, batches=o["batches"], size=o["batch_size"])
                    drain = burst_drain(teams)
                    self.out(
                        f"{n} worker(s): {events:,} events stored in {ingest:.1f} s, then "
                        f"{len(teams)} team runs drained them in {drain:.1f} s = "
                        f"{events / drain:,.0f} events/s (load {load_text()})"
                    )
                self.out(f"worker max RSS {workers.peak_rss()}")

    def _partition(self, o: dict) -> None:
        teams = self._teams()
        sample = [teams[0], teams[len(teams) // 2], teams[-1]]
        self.out(f"partitioned copy, {o['partitions']} hash partitions (load {load_text()})")
        made = partitioned_copy_create(partitions=o["partitions"])
        self.out(f"copy made and indexed in {made:.0f} s (load {load_text()})")
        try:
            for name, team_id, plain, part in partition_compare(
                [t.id for t in sample], repeat=o["repeat"]
            ):
                deals = Deal.objects.filter(team_id=team_id).count()
                self.out(
                    f"{name}, team of {deals:,} deals: plain {plain * 1000:,.1f} ms, "
                    f"partitioned {part * 1000:,.1f} ms, ratio {part / plain:.2f}"
                )
            self.out(f"(medians of {o['repeat']}, load {load_text()})")
        finally:
            partitioned_copy_drop()

    def _drop(self, o: dict) -> None:
        for team in scale_teams():
            team_bench_delete(team)
            self.out(f"deleted {team.slug}")
