"""Past one machine: a company of many teams, its nightly rebuild and a burst of batches with
one and then two real Celery worker processes (PostgreSQL and Redis).

    python manage.py bench_scale load --teams 100 --deals 10000000 [--part 0/2]
    python manage.py bench_scale rebuild --workers 1,2 [--repeat 1]
    python manage.py bench_scale burst --workers 1,2 [--batches 200] [--batch-size 1000]
        [--burst-teams 50] [--repeat 3]
    python manage.py bench_scale partition [--repeat 5] [--partitions 8]
    python manage.py bench_scale drop

`load` creates teams scale-000.. with skewed sizes (bench.scale.team_sizes) and COPYs a
generated year into each, then VACUUM ANALYZE; `--part k/n` loads only every n-th team
(start n loads in parallel). The other steps measure the loaded company; see docs/performance.md
("Past one machine").
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.data import tables_analyze
from bench.measure import load_text
from bench.scale import scale_team_load, table_sizes, team_sizes


class Command(BaseCommand):
    help = "Benchmark many teams: nightly rebuild and batch bursts with 1 and 2 workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("step", choices=["load", "rebuild", "burst", "partition", "drop"])
        parser.add_argument("--teams", type=int, default=100)
        parser.add_argument("--deals", type=int, default=10_000_000)
        parser.add_argument("--part", default="0/1", help="k/n: load every n-th team from k.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--workers", default="1,2", help="Worker processes to compare.")
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--batches", type=int, default=200)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--burst-teams", type=int, default=50)
        parser.add_argument("--partitions", type=int, default=8)
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
        for index in range(k, o["teams"], n):
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
