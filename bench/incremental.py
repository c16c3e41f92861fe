"""The recompute benchmark's batches: each applied by the app (ingest, drain, verdict) after
the same batch's delta floor (bench.delta_floor) ran on the same database and rolled back.

Also what `--reuse` needs to pick a kept benchmark team up again: its open deals as the batch
maker wants them, and event numbers past every one it made before.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import F, Max

from bench.data import BatchMaker
from bench.delta_floor import DeltaFloor
from bench.measure import load_text, ms, p95
from funnel.ingest import stage_events_ingest
from funnel.models import CompanyRecomputeState, Deal, DealStatus, Stage, StageEvent, Team
from funnel.pipeline.figures import SETTINGS
from funnel.pipeline.passages import team_pending_drain
from funnel.pipeline.run import team_recompute


def maker_of_kept(team: Team, *, seed: int) -> BatchMaker:
    """A batch maker for a team a previous run kept: its open deals where they are, and event
    and deal numbers past any an earlier maker used (those never exceed the event count)."""
    slugs = tuple(
        Stage.objects.filter(team=team)
        .in_funnel()
        .order_by("position")
        .values_list("slug", flat=True)
    )
    index = {slug: i for i, slug in enumerate(slugs)}
    # Only deals whose furthest passage is their current stage: a deal sent back to an earlier
    # stage (earlier runs' makers drew from older lists) has no plain next step for the floor.
    deals = (
        Deal.objects.filter(team=team, status=DealStatus.OPEN, current_stage__isnull=False)
        .exclude(passages__stage__position__gt=F("current_stage__position"))
        .values_list("external_id", "current_stage__slug")
    )
    open_deals = [(ext, index[slug]) for ext, slug in deals if slug in index]
    maker = BatchMaker(open_deals=open_deals, stage_slugs=slugs, seed=seed)
    maker.made = StageEvent.objects.filter(team=team).aggregate(last=Max("id"))["last"] or 0
    return maker


@dataclass
class Batches:
    """Seconds per measured batch: the app's steps, and the floor's whole job."""

    ingest: list[float] = field(default_factory=list)
    drain: list[float] = field(default_factory=list)
    verdict: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)

    @property
    def app(self) -> list[float]:
        return [a + b + c for a, b, c in zip(self.ingest, self.drain, self.verdict, strict=True)]

    def lines(self) -> list[str]:
        app, floor = self.app, self.floor
        ratios = [a / f for a, f in zip(app, floor, strict=True)]
        of_medians = statistics.median(app) / statistics.median(floor)
        return [
            "per batch, app = ingest + drain + verdict | floor | ratio (ms): "
            + ", ".join(
                f"{a * 1e3:.0f}+{b * 1e3:.0f}+{c * 1e3:.0f}={t * 1e3:.0f} | {f * 1e3:.0f} | "
                f"{t / f:.2f}"
                for a, b, c, t, f in zip(
                    self.ingest, self.drain, self.verdict, app, floor, strict=True
                )
            ),
            f"  app (update applied + verdict): median {ms(statistics.median(app))}, p95 "
            f"{ms(p95(app))}; of which ingest {ms(statistics.median(self.ingest))}, drain "
            f"{ms(statistics.median(self.drain))}, verdict {ms(statistics.median(self.verdict))}"
            " (medians)",
            f"  floor (delta in SQL, incl. exact percentiles of {min(self.touched)} to "
            f"{max(self.touched)} touched stage-weeks): median {ms(statistics.median(floor))}, "
            f"p95 {ms(p95(floor))}",
            f"  ratio app / floor: of the medians {of_medians:.2f}, "
            f"of the p95s {p95(app) / p95(floor):.2f}, median of the batches' ratios "
            f"{statistics.median(ratios):.2f}; target 1.5 [{len(app)} batches, "
            f"{os.cpu_count()} CPUs, load {self.loads[0]} .. {self.loads[-1]}]",
        ]


def batches_measure(
    team: Team, maker: BatchMaker, batches: int, size: int, out: Callable[[str], None]
) -> Batches:
    """`batches` batches after a warm-up, each: the floor (rolled back), then the app."""
    stage_ids = dict(Stage.objects.filter(team=team).values_list("slug", "id"))
    floor = DeltaFloor(team_id=team.id, stage_ids=stage_ids, recent_weeks=SETTINGS.recent_weeks)
    # The company roll-up is its own debounced task in production; here Celery runs eagerly,
    # so it is held queued (a request is then a no-op) to time the team's run alone.
    CompanyRecomputeState.objects.update_or_create(id=1, defaults={"queued": True})
    result = Batches()
    try:
        for n in range(batches + 1):  # the first is a warm-up
            events = maker.batch(size)
            floor_seconds, touched = floor.measure(events)
            t0 = time.perf_counter()
            accepted = stage_events_ingest(
                team=team, events=events, origin="api", schedule_recompute=False
            ).accepted
            t1 = time.perf_counter()
            drained = team_pending_drain(team=team)
            t2 = time.perf_counter()
            team_recompute(team=team, winnable=False)
            t3 = time.perf_counter()
            if accepted != size or not drained:
                raise RuntimeError(f"batch {n}: {accepted} of {size} accepted, {drained} drained")
            if n:
                result.ingest.append(t1 - t0)
                result.drain.append(t2 - t1)
                result.verdict.append(t3 - t2)
                result.floor.append(floor_seconds)
                result.touched.append(touched)
                result.loads.append(load_text())
                out(
                    f"batch {n}: app {ms(t3 - t0)} (ingest {ms(t1 - t0)}, drain {ms(t2 - t1)}, "
                    f"verdict {ms(t3 - t2)}), floor {ms(floor_seconds)}, ratio "
                    f"{(t3 - t0) / floor_seconds:.2f} [load {result.loads[-1]}]"
                )
    finally:
        floor.close()
        CompanyRecomputeState.objects.filter(id=1).update(queued=False)
    return result
