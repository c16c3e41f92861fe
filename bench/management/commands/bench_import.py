"""Benchmark the CSV import: `bench_import [--deals 100000] [--rows 20000] [--repeat N]`.

Pre-loads a team with --deals deals (each with one stage event), then imports a generated
deal-shaped export of --rows new deals (owner, account, amount, stage, engage and close dates,
one characteristic column) through the import service, running the task body synchronously (with
--set-based, on PostgreSQL, the set-based route, funnel.imports.sets), and prints where its
time went (the job summary's `seconds`, which add up to the run), the task body's peak memory,
and, measured in the same run on the same database just before each import, the floor: the same
rows' deals and events COPied by plain psycopg into the real tables, rolled back
(bench.import_floor), with the ratio and the load average. --profile N adds the N costliest
functions by own time (cProfile; slows the run). Meant for PostgreSQL; the target is 100,000
rows/s end to end (upload to committed).
"""

import cProfile
import csv
import datetime as dt
import io
import os
import pstats
import random
import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from bench.data import deals_delete
from bench.import_floor import ImportFloor, peak_memory_mib, peak_memory_reset
from bench.measure import machine_busy
from funnel.bulk import rows_insert
from funnel.imports.run import CHUNK_ROWS, SLICE_ROWS, import_job_run
from funnel.imports.service import import_job_create, import_job_validate
from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import Deal, ImportJob, Role, Stage, StageEvent, Team
from funnel.services import membership_add, team_create
from kaizen.celery import app as celery_app

TARGET_ROWS_PER_SECOND = 100_000
STAGE_LABELS = {"Prospecting": "inquiry", "Engaging": "engaged", "Won": "won", "Lost": "lost"}
MAPPING = {
    "shape": "deals",
    "date_format": "iso",
    "columns": {
        "opportunity_id": "deal_id",
        "sales_agent": "owner",
        "product": "new_characteristic",
        "account": "account",
        "deal_stage": "stage",
        "engage_date": "entered:engaged",
        "close_date": "closed_at",
        "close_value": "amount",
    },
    "stage_values": STAGE_LABELS,
    "default_date": "2024-12-31",
}


PART_LABELS = {
    "start": "job marked running",
    "read": "read the file (decode, CSV)",
    "team_facts": "team facts, mapping",
    "check": "check rows (events, observations)",
    "prepare": "owners, characteristics, mapping save",
    "events": "stage events (stage_events_ingest)",
    "observations": "observations",
    "progress": "progress updates",
    "commit": "chunk commits",
    "chunks": "chunk overhead (slicing, callbacks)",
    "writers": "two writers: events, observations, commits",
    "stage": "set-based: ids resolved, columns staged in Python",
    "write": "set-based: COPY, deals, events, positions, observations, commit",
    "recompute_request": "recompute request",
    "outside": "job load, final status write",
}


class Command(BaseCommand):
    help = "Rows per second of CSV import on a team with many deals already stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deals", type=int, default=100_000, help="Deals stored first.")
        parser.add_argument("--rows", type=int, default=20_000, help="Rows in the imported file.")
        parser.add_argument("--team", default="bench-import", help="Team slug to use.")
        parser.add_argument(
            "--chunk-rows",
            type=int,
            default=CHUNK_ROWS,
            help=f"Rows a chunk (one transaction); the service's default is {CHUNK_ROWS:,}.",
        )
        parser.add_argument(
            "--slice-rows",
            type=int,
            default=SLICE_ROWS,
            help=f"Rows converted at a time, then handed to the writers (default {SLICE_ROWS:,}).",
        )
        parser.add_argument(
            "--repeat",
            type=int,
            default=1,
            help="Import this many files (of new deals) one after another; the verdict is the "
            "median run's (a shared machine's speed varies from one second to the next).",
        )
        parser.add_argument(
            "--set-based",
            action="store_true",
            help="Take the set-based route (settings.IMPORT_SET_BASED on; off by default).",
        )
        parser.add_argument(
            "--profile",
            type=int,
            default=0,
            metavar="N",
            help="Profile the task body; print the N costliest functions by own time.",
        )

    def handle(
        self,
        *args,
        deals: int,
        rows: int,
        team: str,
        chunk_rows: int,
        slice_rows: int,
        repeat: int,
        profile: int,
        set_based: bool,
        **options,
    ) -> None:
        if set_based:
            settings.IMPORT_SET_BASED = True
        if connection.vendor != "postgresql":
            self.stderr.write(f"Warning: running on {connection.vendor}, not PostgreSQL.")
        team_obj = Team.objects.filter(slug=team).first() or team_create(
            slug=team, name="Import benchmark"
        )
        owners = [
            membership_add(team=team_obj, email=f"bench.rep{i}@example.com", role=Role.REP)[2]
            for i in range(20)
        ]
        # Uploaded by a manager, as in the browser: each event then names a user.
        self.manager = membership_add(
            team=team_obj, email="bench.manager@example.com", role=Role.MANAGER
        )[2]
        self._preload(team_obj, deals)
        if connection.vendor == "postgresql":
            # Fresh planner statistics after the bulk load, as autovacuum would give in time.
            with connection.cursor() as cursor:
                for table in ("funnel_deal", "funnel_stageevent", "funnel_observation"):
                    cursor.execute(f"ANALYZE {table}")
        # The metrics recompute the import schedules runs on a worker in production; without a
        # broker it would run eagerly inside the timed import, so queue it (in memory) instead.
        celery_app.conf.task_always_eager = False
        # The task body runs in a worker, which loaded the task modules when it started.
        celery_app.loader.import_default_modules()

        runs: list[tuple[float, float, float, float]] = []  # task, end to end, floor rows/s; MiB
        _imported_remove(team_obj)  # what earlier runs imported
        floor = ImportFloor() if connection.vendor == "postgresql" else None
        for run in range(1, repeat + 1):
            content = self._export(rows, [o.email for o in owners], run)
            if repeat > 1:
                self.stdout.write(f"Run {run} of {repeat}:")
            floor_rps = float("nan")
            if floor is not None:
                deal_rows, event_rows, count = floor.rows(
                    team=team_obj, content=content, mapping=MAPPING, by_id=self.manager.id
                )
                seconds = floor.measure(deal_rows, event_rows)
                floor_rps = count / seconds
                self.stdout.write(
                    f"  floor (psycopg COPY of the deals and events, rolled back): "
                    f"{seconds:6.2f} s  ->  {floor_rps:,.0f} rows/s  load {_load()}"
                )
            task, total, peak = self._run(team_obj, content, rows, chunk_rows, slice_rows, profile)
            runs.append((task, total, floor_rps, peak))
            self.stdout.write(
                f"  ratio floor/app: end to end {floor_rps / total:.1f}x, "
                f"task body {floor_rps / task:.1f}x; task body peak memory {peak:,.0f} MiB"
            )
            # Each run imports into a team of --deals deals, not one grown by the runs before.
            _imported_remove(team_obj)
        if floor is not None:
            floor.close()
        task, total, floor_rps = (statistics.median(r[i] for r in runs) for i in range(3))
        self.stdout.write(
            f"{connection.vendor}, {rows:,} rows into {deals:,} deals, median of {repeat} runs: "
            f"end to end {total:,.0f} rows/s, task body {task:,.0f} rows/s; floor "
            f"{floor_rps:,.0f} rows/s (ratio {floor_rps / total:.1f}x end to end, "
            f"{floor_rps / task:.1f}x task body); peak memory {max(r[3] for r in runs):,.0f} MiB; "
            f"end-to-end runs: {', '.join(f'{r[1]:,.0f}' for r in runs)}; load {_load()}"
        )
        verdict = "meets" if total >= TARGET_ROWS_PER_SECOND else "BELOW"
        self.stdout.write(f"target {TARGET_ROWS_PER_SECOND:,} rows/s end to end: {verdict}")

    def _run(
        self,
        team_obj: Team,
        content: bytes,
        rows: int,
        chunk_rows: int,
        slice_rows: int,
        profile: int,
    ) -> tuple[float, float, float]:
        """One upload, validation and import; prints its figures, returns its rows/s (task
        body, end to end) and the task body's peak memory (MiB)."""
        started = time.perf_counter()
        job = import_job_create(
            team=team_obj, uploaded_by=self.manager, filename="bench.csv", content=content
        )
        plan = import_job_validate(job=job, mapping=MAPPING)
        validated = time.perf_counter()
        if plan.errors:
            raise CommandError(f"{len(plan.errors)} errors, first: {plan.errors[0]}")
        job = ImportJob.objects.select_related("team").get(id=job.id)
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        reset = peak_memory_reset()
        cpu_before = time.process_time(), machine_busy()
        job = import_job_run(job=job, chunk_rows=chunk_rows, slice_rows=slice_rows)
        finished = time.perf_counter()
        peak = peak_memory_mib(reset)
        own_cpu = time.process_time() - cpu_before[0]
        machine_cpu = machine_busy() - cpu_before[1]
        if profiler is not None:
            profiler.disable()
        s = job.summary
        run_seconds = finished - validated
        self.stdout.write(
            f"{connection.vendor}: {Deal.objects.filter(team=team_obj).count():,} deals stored "
            f"after the run; file {len(content) / 1e6:.1f} MB, {rows:,} rows; route "
            f"{job.summary.get('route', 'row-by-row')}"
        )
        self.stdout.write(f"  upload + validate: {validated - started:6.2f} s")
        self.stdout.write(
            f"  import (task body): {run_seconds:6.2f} s  ->  {rows / run_seconds:,.0f} rows/s, "
            f"{s['events_accepted'] / run_seconds:,.0f} events/s "
            f"({s['events_accepted']:,} events, {s['observations']:,} observations)"
        )
        parts = dict(s["seconds"])
        inside = parts.pop("inside", {})
        # Loading the job and writing its final status (with the summary) are outside its clock.
        parts["outside"] = run_seconds - parts.pop("total")
        self.stdout.write("    of which:")
        order = list(PART_LABELS)
        for name, seconds in sorted(parts.items(), key=lambda p: _index(order, p[0])):
            label = PART_LABELS.get(name, name)
            self.stdout.write(
                f"      {label:<44} {seconds:6.3f} s  {100 * seconds / run_seconds:5.1f} %"
            )
        if inside:
            self.stdout.write("    inside the two writers (each part summed over both):")
            for name, seconds in inside.items():
                label = PART_LABELS.get(name.removeprefix("writers_"), name)
                self.stdout.write(f"      {label:<44} {seconds:6.3f} s")
        self.stdout.write(
            f"  CPU during the import: this process {own_cpu:.2f} s, the rest of the machine "
            f"(the database, on an idle machine) {machine_cpu - own_cpu:.2f} s, of "
            f"{run_seconds * (os.cpu_count() or 1):.2f} s on {os.cpu_count()} cores"
        )
        total = finished - started
        self.stdout.write(
            f"  end to end: {total:6.2f} s  ->  {rows / total:,.0f} rows/s  load {_load()}"
        )
        self.stdout.write(f"  machine check: {_cpu_check():.2f} µs per datetime.isoformat()")
        if profiler is not None:
            self._profile_print(profiler, profile)
        return rows / run_seconds, rows / total, peak

    def _profile_print(self, profiler: cProfile.Profile, count: int) -> None:
        """The `count` costliest functions of the task body by own time (profiled, so slower)."""
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(pstats.SortKey.TIME).print_stats(count)
        self.stdout.write(out.getvalue())

    def _preload(self, team: Team, deals: int) -> None:
        have = Deal.objects.filter(team=team).count()
        if have >= deals:
            return
        stage_id = Stage.objects.get(team=team, slug="inquiry").id
        now = timezone.now()
        self.stdout.write(f"Pre-loading {deals - have:,} deals ...")
        for start in range(have, deals, 10_000):
            ids = [f"pre-{i:07d}" for i in range(start, min(deals, start + 10_000))]
            with transaction.atomic():
                created = rows_insert(
                    Deal,
                    (
                        "team_id",
                        "external_id",
                        "status",
                        "lost_reason",
                        "account",
                        "department",
                        "source",
                        "current_stage_id",
                        "stage_entered_at",
                        "opened_at",
                        "created_at",
                        "updated_at",
                    ),
                    [
                        (team.id, ext, "open", "", "", "", "", stage_id, now, now, now, now)
                        for ext in ids
                    ],
                    conflict=("team_id", "external_id"),
                    returning=("id",),
                )
                rows_insert(
                    StageEvent,
                    EVENT_FIELDS,
                    [
                        (
                            team.id,
                            deal_id,
                            stage_id,
                            "",
                            "",
                            now,
                            now,
                            f"pre-{deal_id}",
                            "seed",
                            None,
                            None,
                        )
                        for (deal_id,) in created
                    ],
                    conflict=("team_id", "event_id"),
                )

    def _export(self, rows: int, owners: list[str], run: int) -> bytes:
        rng = random.Random(rows)
        run = f"{timezone.now():%Y%m%d%H%M%S}-{run}"
        start = dt.date(2024, 1, 1)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(MAPPING["columns"])
        for i in range(rows):
            label = rng.choice(list(STAGE_LABELS))
            engaged = start + dt.timedelta(days=rng.randrange(300))
            closed = engaged + dt.timedelta(days=rng.randrange(1, 60))
            writer.writerow(
                [
                    f"bench-{run}-{i:07d}",
                    rng.choice(owners),
                    rng.choice(["GTX Basic", "GTX Pro", "MG Special", "MG Advanced"]),
                    f"Account {rng.randrange(500)}",
                    label,
                    "" if label == "Prospecting" else engaged.isoformat(),
                    closed.isoformat() if label in ("Won", "Lost") else "",
                    rng.randrange(0, 30_000) if label != "Prospecting" else "",
                ]
            )
        return out.getvalue().encode()


def _imported_remove(team: Team) -> None:
    """Delete the deals runs imported, with what refers to them (the pending marks a worker
    would have drained included), and vacuum."""
    deals_delete("team_id = %s AND external_id LIKE %s", [team.id, "bench-%"])


def _load() -> str:
    """The load average (1, 5, 15 min): other work on the machine slows every figure."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _index(names: list[str], name: str) -> int:
    return names.index(name) if name in names else len(names)


def _cpu_check() -> float:
    """A fixed CPU-bound operation: on a busy machine every figure above is slower by as much."""
    moment = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for _ in range(100_000):
        moment.isoformat()
    return (time.perf_counter() - started) * 10
