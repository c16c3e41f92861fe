"""How fast the metrics follow the data, on a team with many deals (PostgreSQL only).

    python manage.py bench_recompute --deals 100000
    python manage.py bench_recompute --deals 1000000 [--batches 10] [--keep] [--no-worker]
    python manage.py bench_recompute --reuse bench-xxxx --no-full [--batches 10]

A throwaway team gets a generated year of deals (about 3.5 events a deal), loaded with COPY
(setup, timed apart; `--keep` keeps the team, `--reuse SLUG` measures it again without a setup).
Then it measures:
- the full recompute: StageFlow rebuilt from the passages in SQL, then the recompute (median of 3);
- the nightly rebuild, once: `team_rebuild`, the very function beat's nightly task runs for each
  team (every passage re-derived from the event log, then the recompute with the winnable counts),
  beside its plain-SQL floor (bench.scale.team_floor_sql, on its own connection);
- 1,000-event batches (stage_events_ingest: new deals plus open deals moving on or closing),
  each applied by the app (ingest, drain into passages and StageFlow, the verdict) right after
  its delta floor ran on the same database and rolled back (bench.delta_floor: the same delta
  in plain SQL, with the touched figures' exact percentiles); app, floor, ratio per batch, their
  medians and p95 (bench.incremental);
- freshness with a real Celery worker (`celery -A kaizen worker --pool=solo`, Redis broker): from
  a batch's commit to the BottleneckStatus whose watermark includes it, polled every 20 ms.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import secrets
import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Max

from bench.data import (
    COPY_SECONDS,
    BatchMaker,
    funnel_copy,
    tables_analyze,
    team_bench_delete,
)
from bench.incremental import Batches, batches_measure, maker_of_kept
from bench.measure import Cpu, Worker, cpu_text, load_text, ms, p95, traced
from bench.scale_runs import floor_run
from bench.synthetic import FunnelShape, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.models import BottleneckStatus, StageEvent, StageFlow, Team
from funnel.pipeline.flow_from_passages import team_flow_from_passages
from funnel.pipeline.run import team_rebuild, team_recompute
from funnel.services import team_create
from kaizen.celery import app

TARGETS = {"full": 5.5, "freshness_p95": 0.300}  # seconds, at 1M deals
POLL = 0.020


class Command(BaseCommand):
    help = "Benchmark the full recompute, incremental batches and freshness (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--batches", type=int, default=10, help="Batches per measurement.")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--repeat", type=int, default=3, help="Full recomputes to time.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--broker",
            default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/11",
            help="Redis URL the worker and this process share.",
        )
        parser.add_argument("--no-worker", action="store_true", help="Skip freshness.")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark team.")
        parser.add_argument(
            "--reuse", metavar="SLUG", help="Measure a team an earlier --keep run left (no setup)."
        )
        parser.add_argument("--no-full", action="store_true", help="Skip the full recompute.")

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_recompute needs PostgreSQL (COPY, the set-based recompute); set "
                "DATABASE_URL=postgres://... and run `manage.py migrate` there first."
            )
        if o["reuse"]:
            o["keep"] = True
            team = Team.objects.get(slug=o["reuse"])
            slug = team.slug
        else:
            slug = f"bench-{secrets.token_hex(4)}"
            team = team_create(slug=slug, name=f"Benchmark {slug}")
        self.out(f"database {connection.settings_dict['NAME']}, team {slug}, load {load_text()}")
        try:
            self._run(team, o)
        finally:
            if o["keep"]:
                self.out(f"kept team {slug}")
            else:
                started = time.perf_counter()
                team_bench_delete(team)
                self.out(f"team deleted in {time.perf_counter() - started:.1f} s")

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _run(self, team: Team, o: dict) -> None:
        if o["reuse"]:
            maker = maker_of_kept(team, seed=o["seed"])
            deals = team.deals.count()
            self.out(f"reused: {deals:,} deals, {len(maker.open_deals):,} open")
        else:
            deals, maker = self._setup(team, o)
        full = None if o["no_full"] else self._full(team, o["repeat"])
        incremental = batches_measure(team, maker, o["batches"], o["batch_size"], self.out)
        self._check_flow(team)
        fresh = None
        if not o["no_worker"]:
            fresh = self._freshness(team, maker, o)
        self._summary(deals, full, incremental, fresh)

    def _setup(self, team: Team, o: dict) -> tuple[int, BatchMaker]:
        deals = o["deals"]
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        shape = FunnelShape(weeks=52, arrivals_per_week=deals / 52, seed=o["seed"])
        started = time.perf_counter()
        generated = funnel_generate(shape, now=now)
        generated_in = time.perf_counter() - started
        loaded = funnel_copy(team=team, generated=generated, now=now)
        copied_in = time.perf_counter() - started - generated_in
        tables_analyze()
        setup = time.perf_counter() - started
        del generated
        self.out(
            f"setup: {loaded.deals:,} deals, {loaded.events:,} events "
            f"({loaded.events / loaded.deals:.2f} a deal), {loaded.passages:,} passages, "
            f"{len(loaded.open_deals):,} open; generated {generated_in:.1f} s, "
            f"COPY {copied_in:.1f} s ("
            + ", ".join(f"{t.removeprefix('funnel_')} {s:.1f} s" for t, s in COPY_SECONDS.items())
            + f"), vacuum+analyze {setup - generated_in - copied_in:.1f} s"
        )
        return loaded.deals, BatchMaker(open_deals=loaded.open_deals, stage_slugs=shape.stage_slugs)

    def _full(self, team: Team, repeat: int) -> dict:
        flow, recompute, cpu = [], [], []
        meter = Cpu()
        for _ in range(repeat):
            c0 = meter.now()
            t0 = time.perf_counter()
            team_flow_from_passages(team=team)
            t1 = time.perf_counter()
            team_recompute(team=team, winnable=False)
            t2 = time.perf_counter()
            c1 = meter.now()
            cpu.append((c1[0] - c0[0], c1[1] - c0[1]))
            flow.append(t1 - t0)
            recompute.append(t2 - t1)
            self.out(f"full recompute: flow {ms(t1 - t0)} + recompute {ms(t2 - t1)}")
        totals = [a + b for a, b in zip(flow, recompute, strict=True)]
        peak_flow = traced(lambda: team_flow_from_passages(team=team))
        peak_recompute = traced(lambda: team_recompute(team=team, winnable=False))
        # The winnable counts (issue 6) are rebuilt by a recompute at most every
        # WINNABLE_REFRESH_SECONDS; timed apart. This run also sets their clock for the rest.
        t0 = time.perf_counter()
        team_recompute(team=team, winnable=True)
        winnable = time.perf_counter() - t0 - statistics.median(recompute)
        self.out(f"winnable counts rebuild: about {ms(winnable)} (on top of a recompute)")
        floor = floor_run([team.id], connections=1)
        t0 = time.perf_counter()
        team_rebuild(team=team)
        rebuild = time.perf_counter() - t0
        self.out(f"nightly rebuild (team_rebuild): {rebuild:.2f} s, floor {floor:.2f} s")
        return {
            "rebuild": rebuild,
            "rebuild_floor": floor,
            "rebuild_load": load_text(),
            "winnable": winnable,
            "total": statistics.median(totals),
            "flow": statistics.median(flow),
            "recompute": statistics.median(recompute),
            "peak": max(peak_flow, peak_recompute),
            "cpu": cpu_text(cpu),
            "load": load_text(),
        }

    def _check_flow(self, team: Team) -> None:
        """The counts kept by delta equal the ones rebuilt from the passages."""
        fields = ("stage_id", "week", "kind", "days", "count")
        kept = set(StageFlow.objects.filter(team=team).values_list(*fields))
        team_flow_from_passages(team=team)
        rebuilt = set(StageFlow.objects.filter(team=team).values_list(*fields))
        if kept != rebuilt:
            differ = len(kept ^ rebuilt)
            raise CommandError(f"StageFlow kept by delta differs from the rebuild: {differ} cells")
        self.out(f"check: StageFlow kept by delta equals the rebuild ({len(kept):,} cells)")

    def _freshness(self, team: Team, maker: BatchMaker, o: dict) -> dict:
        app.conf.broker_url = o["broker"]
        app.conf.task_always_eager = False
        # The eager runs above (the company roll-up the team runs ask for) opened Celery's
        # connection and producer pools on the old broker; the next use opens them anew.
        app._pool = None
        app.amqp._producer_pool = None
        settings.CELERY_TASK_ALWAYS_EAGER = False
        app.control.purge()
        worker = Worker(o["broker"])
        worker.start()
        try:
            lags = []
            for n in range(o["batches"] + 1):
                lag = self._fresh_once(team, maker.batch(o["batch_size"]))
                if n:
                    lags.append(lag)
            self.out("freshness (ms): " + ", ".join(f"{v * 1000:.0f}" for v in lags))
            return {
                "p50": statistics.median(lags),
                "p95": p95(lags),
                "worker_rss": worker.peak_rss(),
                "load": load_text(),
            }
        finally:
            worker.stop()
            app.conf.task_always_eager = True

    def _fresh_once(self, team: Team, events) -> float:
        committed: list[float] = []
        with transaction.atomic():
            # Registered first, so it runs first after COMMIT, before the recompute is enqueued.
            transaction.on_commit(lambda: committed.append(time.perf_counter()))
            stage_events_ingest(team=team, events=events, origin="api")
        last_id = StageEvent.objects.filter(team=team).aggregate(last=Max("id"))["last"]
        deadline = committed[0] + 120
        while time.perf_counter() < deadline:
            if BottleneckStatus.objects.filter(team=team, watermark__gte=last_id).exists():
                return time.perf_counter() - committed[0]
            time.sleep(POLL)
        raise CommandError("the worker did not bring the status up to date within 120 s")

    def _summary(self, deals: int, full: dict | None, inc: Batches, fresh: dict | None) -> None:
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines = [f"== {deals:,} deals, {os.cpu_count()} CPUs =="]
        if full:
            lines += [
                f"full recompute (median): {full['total']:.2f} s = flow from passages "
                f"{full['flow']:.2f} s + recompute {full['recompute']:.2f} s; "
                f"target {TARGETS['full']} s [load {full['load']}]; {full['cpu']}",
                f"winnable counts rebuild (at most every {settings.WINNABLE_REFRESH_SECONDS} s, "
                f"after a recompute): {full['winnable']:.2f} s",
                f"nightly rebuild (team_rebuild: passages from the log, recompute, winnable "
                f"counts): {full['rebuild']:.2f} s = {deals / full['rebuild']:,.0f} deals/s; "
                f"floor (plain SQL, the same aggregates from the log) "
                f"{full['rebuild_floor']:.2f} s, ratio "
                f"{full['rebuild'] / full['rebuild_floor']:.1f}x [load {full['rebuild_load']}]",
                f"peak memory: tracemalloc full recompute {full['peak'] / 2**20:.1f} MiB; "
                f"this process max RSS {rss_mb:,.0f} MiB (includes the generator)",
            ]
        lines += [f"incremental batches of {deals:,} deals' team:", *inc.lines()]
        if fresh:
            lines += [
                f"freshness (commit -> BottleneckStatus): p50 {ms(fresh['p50'])}, "
                f"p95 {ms(fresh['p95'])}; target p95 {ms(TARGETS['freshness_p95'])}; "
                f"worker max RSS {fresh['worker_rss']} [load {fresh['load']}]"
            ]
        for line in lines:
            self.out(line)
