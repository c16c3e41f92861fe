"""How fast the dashboard answers under load (PostgreSQL only).

    python manage.py bench_dashboard                       # 10 teams, 1,000,000 deals in all
    python manage.py bench_dashboard --reuse --requests 100 # keep the loaded company, re-measure

Setup (timed apart, skipped with --reuse when the teams exist): ten teams `dash-0..9`, each a
generated year of deals loaded with COPY (bench.data), its weekly flow rebuilt and its
snapshots recomputed: what the dashboard reads is then exactly what the Celery recompute writes.
Some teams get a stage that converts worse lately, so verdicts differ between teams.

With `--as-of`, the team pages are then asked for past periods (`?as_of=<date>&window=<w>`,
weeks 4 to 44 back, windows 13, 26 and all): the verdicts the live snapshot does not hold,
computed on request from the weekly aggregates. The first pass asks each (team, week, window)
once, so every request computes (nothing cached); the second asks for 40 of those URLs again
and again, as shared links would be (cached, as the default pages are).

Then it collects static files, starts gunicorn on 127.0.0.1 (DEBUG off, the same DATABASE_URL)
serving bench.dashboard_wsgi (the project's app plus a Server-Timing header of Django's
own time), logs an executive in through a session, and runs `--clients` threads, each firing
`--requests` requests over one keep-alive connection, alternating the company page and the team
pages. Reported: server time (Server-Timing) and client time (request to last byte) p50/p95, and
the same for the htmx poll when nothing changed.

Each of `--runs` runs (default 5) times, by the same clients, the pages and their two floors:
a fixed answer behind login through the same gunicorn and middleware (bench.dashboard_urls:
what any signed-in request costs), and the snapshot rows the pages show read by plain psycopg
in as many processes as gunicorn has workers, one page after another (bench.dashboard_floor:
what a page costs in SQL alone). The summary
gives the medians over the runs of each run's p50 and p95, the ratios and the load average
(other jobs share this machine).
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from bench.dashboard_floor import floor_sql_fire
from bench.data import funnel_copy, tables_analyze
from bench.synthetic import FunnelShape, funnel_generate
from funnel.models import Deal, Role, Team
from funnel.pipeline.flow_from_passages import team_flow_from_passages
from funnel.pipeline.run import team_recompute
from funnel.services import membership_add, team_create

TARGET_P95_MS = 30.0  # issue #18: team and company pages, 1M deals, 20 clients
TARGET_AS_OF_P95_MS = 150.0
AS_OF_WEEKS = range(4, 44)
AS_OF_WINDOWS = ("13", "26", "all")
AS_OF_SHARED = 40  # past periods the repeated pass shares out
EXECUTIVE = "bench-exec@example.com"
FLOOR_PATH = "/bench/floor/"  # bench.dashboard_urls


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _p50_p95(r: dict) -> tuple[float, float]:
    return statistics.median(r["server"]), _pct(r["server"], 0.95)


def _fig(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.1f} / {pair[1]:.1f}"


class Command(BaseCommand):
    help = "Benchmark the dashboard: 10 teams, 1M deals, 20 concurrent clients on gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deals", type=int, default=1_000_000, help="In all teams.")
        parser.add_argument("--teams", type=int, default=10)
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument("--requests", type=int, default=50, help="Per client.")
        parser.add_argument("--workers", type=int, default=4, help="gunicorn workers.")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--runs", type=int, default=5, help="Runs of pages, floors and poll (medians)."
        )
        parser.add_argument("--reuse", action="store_true", help="Reuse loaded dash-* teams.")
        parser.add_argument(
            "--as-of", action="store_true", help="Also time the team pages for past periods."
        )
        parser.add_argument("--only-as-of", action="store_true", help="Time past periods only.")

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_dashboard needs PostgreSQL (COPY); set DATABASE_URL.")
        teams = self._company(o)
        deals = Deal.objects.filter(team__in=teams).count()
        self.out(f"company: {len(teams)} teams, {deals:,} deals; load {os.getloadavg()[0]:.2f}")
        cookie = self._session()
        with self._gunicorn(o) as base:
            paths = ["/dashboard/", *(f"/teams/{t.slug}/dashboard/" for t in teams)]
            self._warm(base, cookie, paths)
            if not o["only_as_of"]:
                runs = [self._run(n, base, cookie, paths, teams, o) for n in range(o["runs"])]
            if o["as_of"] or o["only_as_of"]:
                past = self._as_of_paths(teams, o)
                cold = self._fire(base, cookie, past, o, poll=False, unique=True)
                # A few shared links, opened again and again (as the default pages are).
                warm = self._fire(base, cookie, past[:AS_OF_SHARED], o, poll=False)
        if not o["only_as_of"]:
            self._summary(runs)
        if o["as_of"] or o["only_as_of"]:
            self._report("past as-of, first request of each period (computed)", cold)
            self._report("past as-of, repeated (cached)", warm)
            p95 = _pct(cold["server"], 0.95)
            verdict = "meets" if p95 <= TARGET_AS_OF_P95_MS else "misses"
            self.out(
                f"past as-of server p95 {p95:.1f} ms (computed) {verdict} the "
                f"{TARGET_AS_OF_P95_MS:.0f} ms target"
            )

    def _run(self, n: int, base: str, cookie: str, paths: list[str], teams, o) -> dict:
        """One run: the pages, then their two floors, then the poll, each by `--clients`
        clients x `--requests` requests; the load average before and after."""
        load = os.getloadavg()[0]
        pages = self._fire(base, cookie, paths, o, poll=False)
        view = self._fire(base, cookie, [FLOOR_PATH], o, poll=False)
        sql = floor_sql_fire(
            team_ids=[t.id for t in teams],
            requests=o["clients"] * o["requests"],
            workers=o["workers"],
        )
        polls = self._fire(base, cookie, paths[:2], o, poll=True)
        run = {
            "pages": pages,
            "view": view,
            "sql": sql,
            "polls": polls,
            "load": (load + os.getloadavg()[0]) / 2,
        }
        figures = {k: _p50_p95(run[k]) for k in ("pages", "view", "sql", "polls")}
        self.out(
            f"run {n + 1}: pages {_fig(figures['pages'])}; floor view {_fig(figures['view'])}; "
            f"floor SQL {_fig(figures['sql'])}; poll 204 {_fig(figures['polls'])} "
            f"(server p50 / p95 ms; {len(pages['server'])} page requests at "
            f"{len(pages['server']) / pages['wall']:.0f}/s); load {run['load']:.2f}"
        )
        return run

    def _summary(self, runs: list[dict]) -> None:
        """Medians over the runs of each run's p50 and p95, and the ratios to the floors."""

        def median_of(kind: str) -> tuple[float, float]:
            figures = [_p50_p95(r[kind]) for r in runs]
            return (
                statistics.median(f[0] for f in figures),
                statistics.median(f[1] for f in figures),
            )

        pages, view, sql, polls = (median_of(k) for k in ("pages", "view", "sql", "polls"))
        client = [
            (statistics.median(r["pages"]["client"]), _pct(r["pages"]["client"], 0.95))
            for r in runs
        ]
        loads = [r["load"] for r in runs]
        self.out(f"medians of {len(runs)} runs (server p50 / p95):")
        self.out(
            f"  dashboard pages {_fig(pages)} ms (client "
            f"{statistics.median(c[0] for c in client):.1f} / "
            f"{statistics.median(c[1] for c in client):.1f} ms)"
        )
        self.out(f"  floor: fixed view behind login, same stack {_fig(view)} ms")
        self.out(f"  floor: the pages' snapshot rows by plain psycopg SQL {_fig(sql)} ms")
        self.out(f"  poll, unchanged (204) {_fig(polls)} ms")
        self.out(
            f"  ratio p95: pages / fixed view {pages[1] / view[1]:.2f}x, "
            f"pages / SQL reads {pages[1] / sql[1]:.2f}x"
        )
        self.out(
            f"  load average {min(loads):.2f} to {max(loads):.2f} (other jobs share the machine)"
        )
        verdict = "meets" if pages[1] <= TARGET_P95_MS else "misses"
        self.out(f"server p95 {pages[1]:.1f} ms {verdict} the {TARGET_P95_MS:.0f} ms target")

    def _as_of_paths(self, teams: list[Team], o) -> list[str]:
        """Distinct past periods, as many as the clients will ask for, in a fixed shuffle."""
        today = timezone.localdate()
        combos = [
            f"/teams/{t.slug}/dashboard/?as_of={today - dt.timedelta(weeks=w)}&window={window}"
            for w in AS_OF_WEEKS
            for window in AS_OF_WINDOWS
            for t in teams
        ]
        random.Random(7).shuffle(combos)
        needed = o["clients"] * o["requests"]
        if needed > len(combos):
            self.out(f"  only {len(combos)} distinct periods: later requests repeat them")
        return combos[:needed]

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _company(self, o) -> list[Team]:
        slugs = [f"dash-{i}" for i in range(o["teams"])]
        existing = list(Team.objects.filter(slug__in=slugs).order_by("slug"))
        if o["reuse"] and len(existing) == len(slugs):
            return existing
        if existing:
            raise CommandError("dash-* teams exist: pass --reuse, or drop the database first.")
        now = timezone.now()
        started = time.perf_counter()
        teams = []
        for i, slug in enumerate(slugs):
            team = team_create(slug=slug, name=f"Region {i + 1:02d}")
            # Every other team: one stage converts at 60 % of its usual rate lately.
            factor = {1 + i % 4: 0.6} if i % 2 == 0 else {}
            shape = FunnelShape(
                weeks=52,
                arrivals_per_week=o["deals"] / o["teams"] / 52,
                conversion_factor=factor,
                seed=100 + i,
            )
            funnel_copy(team=team, generated=funnel_generate(shape, now=now), now=now)
            teams.append(team)
            self.out(f"  loaded {slug} ({time.perf_counter() - started:.0f} s)")
        tables_analyze()
        for team in teams:
            team_flow_from_passages(team=team)
            team_recompute(team=team)
        tables_analyze()  # StageFlow and StageMetric were written after the first ANALYZE
        self.out(f"setup {time.perf_counter() - started:.0f} s")
        return teams

    def _session(self) -> str:
        team = Team.objects.get(slug="dash-0")
        _, _, user = membership_add(team=team, email=EXECUTIVE, role=Role.EXECUTIVE)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    def _gunicorn(self, o):
        command = self

        class Server:
            def __enter__(self):
                static = tempfile.mkdtemp(prefix="kaizen-bench-static-")
                self.env = {
                    **os.environ,
                    "DEBUG": "0",
                    "SECRET_KEY": settings.SECRET_KEY,  # the session below is signed with it
                    "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "SECURE_SSL_REDIRECT": "0",
                    "STATIC_ROOT": static,
                }
                manage = str(Path(settings.BASE_DIR) / "manage.py")
                subprocess.run(
                    [sys.executable, manage, "collectstatic", "--noinput", "-v0"],
                    env=self.env,
                    check=True,
                )
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "bench.dashboard_wsgi:application",
                     "-w", str(o["workers"]), "-b", f"127.0.0.1:{o['port']}",
                     "--log-level", "warning", "--backlog", "256", "--preload"],
                    env=self.env, cwd=settings.BASE_DIR,
                )  # fmt: skip
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        http.client.HTTPConnection("127.0.0.1", o["port"], timeout=2).connect()
                        break
                    except OSError:
                        time.sleep(0.3)
                command.out(f"gunicorn: {o['workers']} workers on 127.0.0.1:{o['port']}")
                return f"127.0.0.1:{o['port']}"

            def __exit__(self, *exc):
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()

        return Server()

    def _get(self, conn, cookie: str, path: str, htmx_since: str | None = None):
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}
        if htmx_since is not None:
            headers["HX-Request"] = "true"
            path = f"{path}?since={htmx_since}"
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        timing = response.getheader("Server-Timing", "")
        app = [part for part in timing.split(",") if part.strip().startswith("app;dur=")]
        server = float(app[0].split("dur=")[1]) if app else float("nan")
        return response.status, body, elapsed, server

    def _warm(self, base: str, cookie: str, paths: list[str]) -> None:
        host, port = base.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=180)
        for _ in range(3):
            for path in [*paths, FLOOR_PATH]:
                status, body, _, _ = self._get(conn, cookie, path)
                if status != 200:
                    raise CommandError(f"{path}: HTTP {status}: {body[:300]!r}")
        self.tokens = {}
        for path in paths[:2]:
            _, body, _, _ = self._get(conn, cookie, path)
            self.tokens[path] = body.decode().split('data-token="')[1].split('"')[0]

    def _fire(
        self, base: str, cookie: str, paths: list[str], o, *, poll: bool, unique: bool = False
    ) -> dict:
        """`unique`: client n takes every clients-th path, so each path is asked once."""
        host, port = base.split(":")
        server, client, errors = [], [], []
        lock = threading.Lock()

        def run(n: int) -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            for i in range(o["requests"]):
                if unique:
                    path = paths[(n + i * o["clients"]) % len(paths)]
                else:
                    path = paths[(n + i) % len(paths)]
                since = self.tokens[path] if poll else None
                status, _, elapsed, dur = self._get(conn, cookie, path, since)
                with lock:
                    if status != (204 if poll else 200):
                        errors.append(status)
                    client.append(elapsed)
                    server.append(dur)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(o["clients"])]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        if errors:
            raise CommandError(f"{len(errors)} unexpected statuses, e.g. {errors[:5]}")
        return {"server": server, "client": client, "wall": wall}

    def _report(self, name: str, r: dict) -> None:
        n = len(r["client"])
        self.out(
            f"{name}: {n} requests in {r['wall']:.1f} s ({n / r['wall']:.0f}/s); "
            f"server p50 {statistics.median(r['server']):.1f} ms, "
            f"p95 {_pct(r['server'], 0.95):.1f} "
            f"ms; client p50 {statistics.median(r['client']):.1f} ms, "
            f"p95 {_pct(r['client'], 0.95):.1f} ms"
        )
