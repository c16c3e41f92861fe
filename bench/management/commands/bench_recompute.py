"""How fast the metrics follow the data, on a team with many deals (PostgreSQL only).

    python manage.py bench_recompute --deals 100000
    python manage.py bench_recompute --deals 1000000 [--batches 10] [--keep] [--no-worker]

A throwaway team gets a generated year of deals (about 3.5 events a deal), loaded with COPY
(setup, timed apart). Then it measures:
- the full recompute: StageFlow rebuilt from the passages in SQL, then the recompute (median of 3);
- the nightly rebuild, once: `team_rebuild`, the very function beat's nightly task runs for each
  team (every passage re-derived from the event log, then the recompute with the winnable counts),
  beside its plain-SQL floor (bench.scale.team_floor_sql, on its own connection);
- one 1,000-event batch applied incrementally (stage_events_ingest: new deals plus open deals
  moving on or closing), and the recompute after it (median and p95 over the batches);
- peak memory: tracemalloc peak of each step, this process's and the worker's max RSS;
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
from bench.measure import Cpu, Worker, cpu_text, load_text, ms, p95, traced
from bench.scale_runs import floor_run
from bench.synthetic import FunnelShape, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.models import BottleneckStatus, StageEvent, StageFlow, Team
from funnel.pipeline.passages import team_flow_from_passages, team_pending_drain
from funnel.pipeline.run import team_rebuild, team_recompute
from funnel.services import team_create
from kaizen.celery import app

TARGETS = {"full": 5.5, "incremental": 0.250, "freshness_p95": 2.0}  # seconds, at 1M deals
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

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_recompute needs PostgreSQL (COPY, the set-based recompute); set "
                "DATABASE_URL=postgres://... and run `manage.py migrate` there first."
            )
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
        full = self._full(team, o["repeat"])
        maker = BatchMaker(open_deals=loaded.open_deals, stage_slugs=shape.stage_slugs)
        incremental = self._incremental(team, maker, o["batches"], o["batch_size"])
        self._check_flow(team)
        fresh = None
        if not o["no_worker"]:
            fresh = self._freshness(team, maker, o)
        self._summary(deals, full, incremental, fresh)

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

    def _incremental(self, team: Team, maker: BatchMaker, batches: int, size: int) -> dict:
        ingest, drain, recompute, peaks, cpu = [], [], [], [], []
        meter = Cpu()
        for n in range(batches + 1):  # the first is a warm-up
            events = maker.batch(size)
            c0 = meter.now()
            t0 = time.perf_counter()
            result = stage_events_ingest(
                team=team, events=events, origin="api", schedule_recompute=False
            )
            t1 = time.perf_counter()
            c1 = meter.now()
            # What team_recompute does first, timed apart: the batch's deals into the passages
            # and the StageFlow counts, by delta. Then the verdict and snapshots.
            drained = team_pending_drain(team=team)
            t2 = time.perf_counter()
            team_recompute(team=team, winnable=False)
            t3 = time.perf_counter()
            if result.accepted != size:
                raise CommandError(f"batch {n}: {result.accepted} of {size} accepted")
            if not drained:
                raise CommandError(f"batch {n}: no deal was pending after it")
            if n:
                cpu.append((c1[0] - c0[0], c1[1] - c0[1]))
                ingest.append(t1 - t0)
                drain.append(t2 - t1)
                recompute.append(t3 - t2)
        events = maker.batch(size)
        peaks.append(
            traced(
                lambda: stage_events_ingest(
                    team=team, events=events, origin="api", schedule_recompute=False
                )
            )
        )
        update = [a + b for a, b in zip(ingest, drain, strict=True)]
        totals = [a + b for a, b in zip(update, recompute, strict=True)]
        self.out(
            "incremental batches, ingest + drain + verdict (ms): "
            + ", ".join(
                f"{a * 1000:.0f}+{b * 1000:.0f}+{c * 1000:.0f}"
                for a, b, c in zip(ingest, drain, recompute, strict=True)
            )
        )
        return {
            "ingest": (statistics.median(ingest), p95(ingest)),
            "drain": (statistics.median(drain), p95(drain)),
            "update": (statistics.median(update), p95(update)),
            "recompute": (statistics.median(recompute), p95(recompute)),
            "total": (statistics.median(totals), p95(totals)),
            "peak": max(peaks),
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

    def _summary(self, deals: int, full: dict, inc: dict, fresh: dict | None) -> None:
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines = [
            f"== {deals:,} deals, {os.cpu_count()} CPUs ==",
            f"full recompute (median): {full['total']:.2f} s = flow from passages "
            f"{full['flow']:.2f} s + recompute {full['recompute']:.2f} s; "
            f"target {TARGETS['full']} s [load {full['load']}]; {full['cpu']}",
            f"incremental 1,000 events: ingest median {ms(inc['ingest'][0])}, "
            f"p95 {ms(inc['ingest'][1])} (ingest {inc['cpu']}); drain into passages and "
            f"StageFlow median {ms(inc['drain'][0])}, p95 {ms(inc['drain'][1])}",
            f"  update applied (ingest + drain): median {ms(inc['update'][0])}, "
            f"p95 {ms(inc['update'][1])}; target {ms(TARGETS['incremental'])}",
            f"  then verdict and snapshots: median {ms(inc['recompute'][0])}, "
            f"p95 {ms(inc['recompute'][1])}; all three: median {ms(inc['total'][0])}, "
            f"p95 {ms(inc['total'][1])} [load {inc['load']}]",
            f"winnable counts rebuild (at most every {settings.WINNABLE_REFRESH_SECONDS} s, "
            f"after a recompute): {full['winnable']:.2f} s",
            f"nightly rebuild (team_rebuild: passages from the log, recompute, winnable counts): "
            f"{full['rebuild']:.2f} s = {deals / full['rebuild']:,.0f} deals/s; floor (plain SQL, "
            f"the same aggregates from the log) {full['rebuild_floor']:.2f} s, ratio "
            f"{full['rebuild'] / full['rebuild_floor']:.1f}x [load {full['rebuild_load']}]",
            f"peak memory: tracemalloc full recompute {full['peak'] / 2**20:.1f} MiB, "
            f"ingest of a batch {inc['peak'] / 2**20:.1f} MiB; "
            f"this process max RSS {rss_mb:,.0f} MiB (includes the generator)",
        ]
        if fresh:
            lines += [
                f"freshness (commit -> BottleneckStatus): p50 {ms(fresh['p50'])}, "
                f"p95 {ms(fresh['p95'])}; target p95 {TARGETS['freshness_p95']} s; "
                f"worker max RSS {fresh['worker_rss']} [load {fresh['load']}]"
            ]
        for line in lines:
            self.out(line)
