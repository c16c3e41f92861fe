"""bench_scale's timed runs: the nightly rebuild of every team and a burst of batches over many
teams, each drained by N real Celery worker processes (`celery -A kaizen worker`, one process
each, solo pool), and the plain-SQL floor of the rebuild on one and on N connections."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Max

from bench.data import BatchMaker
from bench.measure import Worker
from bench.scale import team_floor_run
from funnel.ingest import stage_events_ingest
from funnel.models import BottleneckStatus, Deal, DealStatus, RecomputeState, StageEvent, Team
from funnel.pipeline.queue import TEAM_REBUILD, task_enqueue
from funnel.pipeline.request import team_recompute_request
from kaizen.celery import app

POLL = 0.25


def broker_use(broker: str) -> None:
    """Send tasks to the workers through `broker` from here on (not eagerly)."""
    app.conf.broker_url = broker
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app._pool = None
    app.amqp._producer_pool = None
    app.control.purge()


class Workers:
    """N worker processes, each `--pool=solo --concurrency=1`, on this database and broker."""

    def __init__(self, n: int, broker: str):
        self.workers = []
        for i in range(n):
            worker = Worker(broker)
            worker.hostname = f"scale{i}-{os.getpid()}@{os.uname().nodename}"
            worker.log = Path(f"/tmp/bench_scale_worker_{os.getpid()}_{i}.log")
            self.workers.append(worker)

    def __enter__(self) -> Workers:
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc) -> None:
        for worker in self.workers:
            worker.stop()

    def peak_rss(self) -> str:
        return ", ".join(w.peak_rss() for w in self.workers)


def _session() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    )


def floor_run(team_ids: list[int], *, connections: int) -> float:
    """The floor: the rebuild's aggregates in plain SQL for every team, on `connections`
    sessions taking teams from one queue (largest first). Wall seconds."""
    todo: queue.Queue[int] = queue.Queue()
    for team_id in team_ids:
        todo.put(team_id)
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            with _session() as session, session.cursor() as cursor:
                while True:
                    try:
                        team_id = todo.get_nowait()
                    except queue.Empty:
                        return
                    team_floor_run(cursor, team_id)
        except BaseException as error:  # reported by the caller
            errors.append(error)

    started = time.perf_counter()
    threads = [threading.Thread(target=drain) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def _wait(done: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL)


def rebuild_run(team_ids: list[int], *, timeout: float = 7200) -> float:
    """The nightly rebuild as beat sends it (one team_rebuild task per team), drained by the
    running workers; wall seconds from the first message to the last team's run."""
    since = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for team_id in team_ids:
        task_enqueue(TEAM_REBUILD, team_id)

    def all_rebuilt() -> bool:
        finished = RecomputeState.objects.filter(team_id__in=team_ids, finished_at__gte=since)
        failed = RecomputeState.objects.filter(team_id__in=team_ids, failed_at__gte=since)
        if failed.exists():
            raise RuntimeError(f"rebuild failed for team(s) {list(failed.values('team_id'))}")
        return finished.count() == len(team_ids)

    _wait(all_rebuilt, timeout=timeout, what="the rebuild of every team")
    return time.perf_counter() - started


def burst_makers(teams: list[Team], *, per_team: int = 20000, seed: int = 11) -> dict:
    """A BatchMaker per team, from some of its open deals (kept across runs, so event and deal
    ids never repeat)."""
    makers = {}
    for i, team in enumerate(teams):
        slugs = tuple(team.stages.order_by("position").values_list("slug", flat=True))
        index = {slug: n for n, slug in enumerate(slugs)}
        open_deals = (
            Deal.objects.filter(team=team, status=DealStatus.OPEN, current_stage__isnull=False)
            .order_by("-id")
            .values_list("external_id", "current_stage__slug")[:per_team]
        )
        makers[team.id] = BatchMaker(
            open_deals=[(ext, index[slug]) for ext, slug in open_deals],
            stage_slugs=slugs,
            seed=seed + i,
        )
    return makers


def burst_ingest(teams: list[Team], makers: dict, *, batches: int, size: int) -> float:
    """The burst's batches, round robin over the teams, stored without asking for runs (their
    deals are marked pending). Wall seconds."""
    # BatchMaker numbers events and new deals from 1: tagged per run of the command, so that
    # they never repeat what an earlier run stored.
    tag = secrets.token_hex(3)
    started = time.perf_counter()
    for n in range(batches):
        team = teams[n % len(teams)]
        events = [
            dataclasses.replace(
                e,
                event_id=f"{tag}-{e.event_id}",
                deal_external_id=(
                    f"{tag}-{e.deal_external_id}"
                    if e.deal_external_id.startswith("new-")
                    else e.deal_external_id
                ),
            )
            for e in makers[team.id].batch(size)
        ]
        result = stage_events_ingest(
            team=team, events=events, origin="api", schedule_recompute=False
        )
        if result.accepted != size:
            raise RuntimeError(f"batch {n} for {team.slug}: {result.accepted} of {size} accepted")
    return time.perf_counter() - started


def burst_drain(teams: list[Team], *, timeout: float = 3600) -> float:
    """Ask for every team's run at once (the product's request helper), then wait until each
    team's verdict covers its last event. Wall seconds."""
    team_ids = [t.id for t in teams]
    last = dict(
        StageEvent.objects.filter(team_id__in=team_ids)
        .values("team_id")
        .annotate(last=Max("id"))
        .values_list("team_id", "last")
    )
    started = time.perf_counter()
    for team_id in team_ids:
        team_recompute_request(team_id=team_id)

    def caught_up() -> bool:
        covered = {
            team_id
            for team_id, watermark in BottleneckStatus.objects.filter(team_id__in=team_ids)
            .values("team_id")
            .annotate(w=Max("watermark"))
            .values_list("team_id", "w")
            if watermark >= last[team_id]
        }
        return len(covered) == len(team_ids)

    _wait(caught_up, timeout=timeout, what="every team's verdict to cover the burst")
    return time.perf_counter() - started
