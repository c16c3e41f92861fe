"""Benchmark the tactics page on a team with a million touches (PostgreSQL only).

    uv run python manage.py bench_tactics [--touches 1000000] [--deals 100000] [--requests 60]
    uv run python manage.py bench_tactics --reuse   # keep the loaded team, time again

Setup (skipped with --reuse when the team exists): a team "bench-tactics" with the default
stages, 8 tactics (the 4 defaults with a 14-day response window, 4 more with none or 7 days),
`--deals` deals over two years moving through the stages (won, lost or open) and `--touches`
touches, three quarters on those deals during their life and the rest on 100,000 prospects
without a deal; about a third with an answer recorded (yes more often for some tactics), the
rest left to the tactic's rule. Deals, events and touches are generated with numpy and loaded
with COPY, then VACUUM ANALYZE.

Then it times:
- the rebuild the recompute runs (funnel.pipeline.tactics.team_tactics_rebuild), against a
  floor: one plain SQL pass over the same touches grouping them by tactic and week with their
  recorded answers (the least any aggregate of them costs: no rule, station or deal judged);
- `--requests` GETs of the page through django.test.Client (DEBUG off), cycling through the
  default period, all touches, the last 3 months in one station and the htmx fragment: server
  time per request (the view, its queries and the template), p50 and p95, cold (the cache of
  rendered results emptied before each GET) and warm; against a floor: the same two grouped
  reads of the kept counts as plain SQL on the raw psycopg cursor.
Target: page p95 <= 150 ms.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

import numpy as np
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from bench.data import event_log_deletes
from bench.measure import load_text, p95
from funnel.models import (
    Deal,
    ProspectWeekCount,
    Role,
    Stage,
    StageEvent,
    Tactic,
    Team,
    Touch,
    TouchWeekCount,
)
from funnel.pipeline.tactics import team_tactics_rebuild
from funnel.services import membership_add, team_create
from funnel.touches.services import tactic_create

SLUG = "bench-tactics"
TARGET_P95_MS = 150.0
DAY = 86_400_000_000  # microseconds
EXTRA_TACTICS = [  # slug, name, channel, response window (days)
    ("webinar", "Webinar invite", "event", None),
    ("direct-mail", "Direct mail", "mail", None),
    ("referral", "Referral ask", "phone", 7),
    ("content", "Content share", "social", 7),
]
# Share of touches and chance of a recorded yes, per tactic in order (4 defaults, 4 more).
TACTIC_SHARE = np.array([0.3, 0.25, 0.12, 0.05, 0.08, 0.06, 0.06, 0.08])
YES_RATE = np.array([0.08, 0.03, 0.05, 0.35, 0.12, 0.01, 0.2, 0.04])
STAGES_REACHED = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])  # 1 ... 6 stages


def _ts(micros: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(micros.astype("datetime64[us]"), unit="us"), "+00")


class Command(BaseCommand):
    help = "Time the tactics page and its aggregate rebuild on a team with 1,000,000 touches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--touches", type=int, default=1_000_000)
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--requests", type=int, default=60, help="Page GETs (>= 50).")
        parser.add_argument(
            "--rebuilds", type=int, default=2, help="Timed rebuilds (0: time the page only)."
        )
        parser.add_argument("--reuse", action="store_true", help="Keep the loaded team.")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_tactics runs on PostgreSQL (set DATABASE_URL).")
        self.stdout.write(f"load average at start: {load_text()}")
        team = Team.objects.filter(slug=SLUG).first() if o["reuse"] else None
        if team is None:
            started = time.perf_counter()
            team = self._team()
            self._load(team, o["deals"], o["touches"], np.random.default_rng(o["seed"]))
            self.stdout.write(f"generated and loaded in {time.perf_counter() - started:.1f} s")
        manager = team.memberships.get(role=Role.MANAGER).user
        touches = Touch.objects.filter(team=team).count()
        self.stdout.write(
            f"team {SLUG}: {touches:,} touches, "
            f"{Deal.objects.filter(team=team).count():,} deals, "
            f"{StageEvent.objects.filter(team=team).count():,} stage events"
        )
        if o["rebuilds"] > 0 or not TouchWeekCount.objects.filter(team=team).exists():
            self._rebuild(team, max(o["rebuilds"], 1))
        self._pages(team, manager, max(o["requests"], 1))
        self.stdout.write(f"load average at end: {load_text()}")

    # ------------------------------------------------------------------ setup

    def _team(self) -> Team:
        old = Team.objects.filter(slug=SLUG).first()
        if old is not None:
            self._delete(old)
        team = team_create(slug=SLUG, name="Benchmark (tactics)")
        for slug, name, channel, window in EXTRA_TACTICS:
            tactic_create(team=team, slug=slug, name=name, channel=channel, window_days=window)
        membership_add(team=team, email="bench.tactics@example.com", role=Role.MANAGER)
        return team

    def _delete(self, team: Team) -> None:
        """Set-based, triggers off (the touch history would record a million deletes)."""
        with transaction.atomic(), event_log_deletes(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            for model in (TouchWeekCount, ProspectWeekCount, Touch, StageEvent, Deal):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE team_id = %s", [team.id])
        team.delete()

    def _load(self, team: Team, n_deals: int, n_touches: int, rng: np.random.Generator) -> None:
        now_us = int(timezone.now().timestamp() * 1e6)
        stages = list(Stage.objects.filter(team=team).order_by("position").values_list("id"))
        stage_ids = np.array([s for (s,) in stages], dtype=np.int64)
        tactics = list(Tactic.objects.filter(team=team).order_by("position"))
        tactic_ids = np.array([t.id for t in tactics], dtype=np.int64)
        channels = np.array([t.channel for t in tactics])

        # Deals: opened over two years, k stages a few days to weeks apart, then maybe an
        # outcome; what would lie in the future is cut off.
        opened = now_us - rng.integers(0, 730 * DAY, n_deals)
        k = rng.choice(np.arange(1, len(STAGES_REACHED) + 1), n_deals, p=STAGES_REACHED)
        ev_deal = np.repeat(np.arange(n_deals), k)
        first = np.r_[0, np.cumsum(k)[:-1]]
        step = np.arange(ev_deal.size) - np.repeat(first, k)
        gap = np.where(step == 0, 0, rng.integers(1 * DAY, 20 * DAY, ev_deal.size))
        at = opened[ev_deal] + _cumsum_by_group(gap, first, k)
        keep = at <= now_us
        ev_deal, step, at = ev_deal[keep], step[keep], at[keep]
        reached = np.bincount(ev_deal, minlength=n_deals)
        last_at = np.full(n_deals, -1, dtype=np.int64)
        np.maximum.at(last_at, ev_deal, at)
        out_at = last_at + rng.integers(1 * DAY, 30 * DAY, n_deals)
        closes = (rng.random(n_deals) < 0.65) & (out_at <= now_us)
        won = closes & (rng.random(n_deals) < 0.1 + 0.12 * reached)
        status = np.where(closes, np.where(won, "won", "lost"), "open")
        last_stage = stage_ids[reached - 1]

        # Touches: three quarters on deals, from a week before the deal opened to a week
        # after its last event (never in the future); the rest on prospects without a deal.
        on_deal = rng.random(n_touches) < 0.75
        t_deal = rng.integers(0, n_deals, n_touches)
        end = np.where(closes, out_at, last_at)
        span = end[t_deal] - opened[t_deal] + 14 * DAY
        t_at = np.where(
            on_deal,
            np.minimum(
                opened[t_deal] - 7 * DAY + (rng.random(n_touches) * span).astype(np.int64), now_us
            ),
            now_us - rng.integers(0, 730 * DAY, n_touches),
        )
        t_tactic = rng.choice(len(tactic_ids), n_touches, p=TACTIC_SHARE)
        recorded = rng.random(n_touches) < 0.35
        yes = rng.random(n_touches) < YES_RATE[t_tactic]
        responded = np.where(recorded, np.where(yes, "t", "f"), "\\N")
        prospect = np.char.add("P-", rng.integers(0, 100_000, n_touches).astype(str))

        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            cursor.execute("SET LOCAL session_replication_role = replica")
            table = Deal._meta.db_table
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
            first_id = cursor.fetchone()[0]
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first_id + n_deals]
            )
            deal_id = first_id + np.arange(n_deals, dtype=np.int64)
            now_text = _ts(np.array([now_us]))[0]
            closed_at = np.where(closes, _ts(out_at), "\\N").tolist()
            last_event = np.where(closes, _ts(out_at), _ts(last_at)).tolist()
            entered, opened_text = _ts(last_at).tolist(), _ts(opened).tolist()
            ids, statuses, current = deal_id.tolist(), status.tolist(), last_stage.tolist()
            self._copy(
                cursor,
                Deal,
                "id, team_id, external_id, account, department, source, status, lost_reason, "
                "current_stage_id, stage_entered_at, opened_at, closed_at, last_event_at, "
                "created_at, updated_at",
                (
                    f"{ids[i]}\t{team.id}\tBD-{i}\t\t\t\t{statuses[i]}\t\t{current[i]}\t"
                    f"{entered[i]}\t{opened_text[i]}\t{closed_at[i]}\t"
                    f"{last_event[i]}\t{now_text}\t{now_text}\n"
                    for i in range(n_deals)
                ),
            )
            ev_ids, ev_stage = deal_id[ev_deal].tolist(), stage_ids[step].tolist()
            lines = (
                f"{team.id}\t{d}\t{s}\t\t\t{a}\t{now_text}\tBE-{i}\tapi\n"
                for i, (d, s, a) in enumerate(zip(ev_ids, ev_stage, _ts(at).tolist(), strict=True))
            )
            closing = np.flatnonzero(closes)
            outcomes = (
                f"{team.id}\t{d}\t\\N\t{o}\t\t{a}\t{now_text}\tBO-{i}\tapi\n"
                for i, d, o, a in zip(
                    closing.tolist(),
                    deal_id[closing].tolist(),
                    status[closing].tolist(),
                    _ts(out_at[closing]).tolist(),
                    strict=True,
                )
            )
            columns = (
                "team_id, deal_id, stage_id, outcome, lost_reason, occurred_at, recorded_at, "
                "event_id, origin"
            )
            self._copy(cursor, StageEvent, columns, lines)
            self._copy(cursor, StageEvent, columns, outcomes)
            t_text = _ts(t_at).tolist()
            touch_deal = np.where(on_deal, deal_id[t_deal].astype(str), "\\N").tolist()
            touch_prospect = np.where(on_deal, "", prospect).tolist()
            t_ids, t_channel = tactic_ids[t_tactic].tolist(), channels[t_tactic].tolist()
            answer = responded.tolist()
            self._copy(
                cursor,
                Touch,
                "team_id, touch_id, tactic_id, channel, deal_id, prospect, occurred_at, "
                "campaign, content, responded, origin, recorded_at",
                (
                    f"{team.id}\tbt-{i}\t{t_ids[i]}\t{t_channel[i]}\t"
                    f"{touch_deal[i]}\t{touch_prospect[i]}\t{t_text[i]}\t\t\t{answer[i]}\t"
                    f"api\t{now_text}\n"
                    for i in range(n_touches)
                ),
            )
        with connection.cursor() as cursor:
            for model in (Deal, StageEvent, Touch):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")

    def _copy(self, cursor, model, columns: str, lines) -> None:
        started = time.perf_counter()
        with cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            block = []
            for line in lines:
                block.append(line)
                if len(block) == 50_000:
                    copy.write("".join(block))
                    block = []
            copy.write("".join(block))
        self.stdout.write(f"  COPY {model.__name__}: {time.perf_counter() - started:.1f} s")

    # ------------------------------------------------------------------ timings

    def _rebuild(self, team: Team, runs: int) -> None:
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            rows = team_tactics_rebuild(team=team)
            timings.append(time.perf_counter() - started)
        floor = []
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            for _ in range(runs):
                started = time.perf_counter()
                cursor.execute(
                    "SELECT tactic_id, date_trunc('week', occurred_at AT TIME ZONE 'UTC'), "
                    "count(*), count(*) FILTER (WHERE responded) "
                    f"FROM {Touch._meta.db_table} "
                    "WHERE team_id = %s GROUP BY 1, 2",
                    [team.id],
                )
                cursor.fetchall()
                floor.append(time.perf_counter() - started)
        app, base = statistics.median(timings), statistics.median(floor)
        self.stdout.write(
            f"rebuild (team_tactics_rebuild, median of {len(timings)}): {app:.2f} s, "
            f"{rows[0]:,} touch-week rows, {rows[1]:,} prospect-week rows\n"
            f"  floor, plain SQL group by tactic and week: {base:.2f} s; ratio {app / base:.1f}x"
            f"   (load {load_text()})"
        )

    def _pages(self, team: Team, manager, requests: int) -> None:
        """Each filter's results are cached per version of the counts (they change only when a
        rebuild finishes): timed cold (the cache emptied before every GET, so each one reads
        the counts, runs the statistics and renders) and warm (as repeated visits are)."""
        url = reverse("tactics_team", args=[team.slug])
        variants = [
            ("default (12 months)", {}, {}),
            ("all touches", {"period": "all"}, {}),
            ("3 months, selling", {"period": "3", "station": "selling"}, {}),
            ("htmx fragment, 6 months", {"period": "6"}, {"HX-Request": "true"}),
        ]
        client = Client()
        client.force_login(manager)
        with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver", "*"]):
            for label, params, headers in variants:  # warm-up, and a check of the page
                response = client.get(url, params, headers=headers)
                if response.status_code != 200 or b'data-tactic="call"' not in response.content:
                    raise CommandError(f"{label}: HTTP {response.status_code} or no tactics")
            for cold in (True, False):
                timings: dict[str, list[float]] = {label: [] for label, _, _ in variants}
                for i in range(requests):
                    label, params, headers = variants[i % len(variants)]
                    if cold:
                        cache.clear()
                    started = time.perf_counter()
                    client.get(url, params, headers=headers)
                    timings[label].append((time.perf_counter() - started) * 1000)
                self._report("cold" if cold else "warm", timings)
        floor = self._floor(team, requests)
        self.stdout.write(
            f"floor, the kept counts read as plain SQL: p50 {statistics.median(floor):.1f} ms, "
            f"p95 {p95(floor):.1f} ms   (load {load_text()})"
        )
        self.stdout.write(
            "ratios, page p95 / floor p95: "
            + ", ".join(
                f"{kind} {value / p95(floor):.1f}x" for kind, value in self.page_p95.items()
            )
        )

    page_p95: dict[str, float] = {}

    def _report(self, kind: str, timings: dict[str, list[float]]) -> None:
        every = [t for values in timings.values() for t in values]
        self.page_p95[kind] = p95(every)
        for label, values in timings.items():
            self.stdout.write(
                f"  {kind} {label:<26} p50 {statistics.median(values):6.1f} ms  "
                f"p95 {p95(values):6.1f} ms"
            )
        verdict = "met" if p95(every) <= TARGET_P95_MS else "MISSED"
        self.stdout.write(
            f"page {kind}, {len(every)} GETs: p50 {statistics.median(every):.1f} ms, "
            f"p95 {p95(every):.1f} ms (target {TARGET_P95_MS:.0f} ms: {verdict})   "
            f"(load {load_text()})"
        )

    def _floor(self, team: Team, requests: int) -> list[float]:
        since = TouchWeekCount.objects.filter(team=team).order_by("-week").values_list(
            "week", flat=True
        ).first() - dt.timedelta(weeks=52)
        timings = []
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            for _ in range(requests):
                started = time.perf_counter()
                cursor.execute(
                    "SELECT tactic_id, sum(touches), sum(answers), sum(deal_answers), "
                    "sum(answers_advanced), sum(deals_answered_any), sum(deals_answered_any_won) "
                    f"FROM {TouchWeekCount._meta.db_table} WHERE team_id = %s AND week >= %s "
                    "GROUP BY tactic_id",
                    [team.id, since],
                )
                cursor.fetchall()
                cursor.execute(
                    "SELECT at_least, sum(prospects_any), sum(answered_any) "
                    f"FROM {ProspectWeekCount._meta.db_table} WHERE team_id = %s AND week >= %s "
                    "GROUP BY at_least",
                    [team.id, since],
                )
                cursor.fetchall()
                timings.append((time.perf_counter() - started) * 1000)
        return timings


def _cumsum_by_group(values: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Running sums restarting at each group (groups are consecutive, `first` their starts)."""
    total = np.cumsum(values)
    before = np.repeat(total[first] - values[first], sizes)
    return total - before
