"""Measuring helpers for the benchmarks: percentiles, CPU and memory figures, and a real
Celery worker (`celery -A kaizen worker --pool=solo`) on the benchmark's database."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from kaizen.celery import app


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def load_text() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


class Cpu:
    """CPU seconds of this process and of its database backend (a local PostgreSQL's /proc):
    on a loaded machine, wall time stretches with the queue, CPU time much less. Parallel
    query workers are other processes and not counted."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.path = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        self.tick = os.sysconf("SC_CLK_TCK")

    def backend(self) -> float:
        try:
            fields = self.path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")  # the database runs elsewhere
        return (int(fields[11]) + int(fields[12])) / self.tick

    def now(self) -> tuple[float, float]:
        return time.process_time(), self.backend()


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores; /proc/stat), or NaN.
    Over a run on an otherwise idle machine, this less the process's own CPU is the database's
    (its backends, the WAL writer, autovacuum), however many connections did the work."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_text(samples: list[tuple[float, float]]) -> str:
    own = statistics.median(s[0] for s in samples)
    backend = statistics.median(s[1] for s in samples)
    return f"CPU median: Python {ms(own)} + database {ms(backend)}"


def traced(step: Callable[[], object]) -> int:
    """Peak bytes Python allocated while `step` ran."""
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Worker:
    """A real `celery -A kaizen worker --pool=solo` on this database and the given broker."""

    def __init__(self, broker: str):
        self.hostname = f"bench-{os.getpid()}@{os.uname().nodename}"
        db = connection.settings_dict
        port = f":{db['PORT']}" if db.get("PORT") else ""
        auth = f"{db['USER']}@" if db.get("USER") else ""
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{auth}{db.get('HOST') or ''}{port}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "PYTHONUNBUFFERED": "1",
        }
        if db.get("PASSWORD"):
            self.env["PGPASSWORD"] = db["PASSWORD"]
        self.process: subprocess.Popen | None = None
        self.log = Path(f"/tmp/bench_recompute_worker_{os.getpid()}.log")

    def start(self, timeout: float = 120) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "kaizen", "worker", "--pool=solo",
            "--concurrency=1", "--loglevel=WARNING", "--hostname", self.hostname,
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"the worker exited early; see {self.log}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise CommandError(f"the worker did not answer within {timeout} s; see {self.log}")

    def peak_rss(self) -> str:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return "unknown"
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return f"{int(line.split()[1]) / 1024:,.0f} MiB"
        return "unknown"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
