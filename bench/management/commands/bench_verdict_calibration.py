"""How often the verdict is wrong, on generated funnels: `bench_verdict_calibration [--seeds 100]`.

No database. For each seed, a steady funnel (52 weeks, ~60 arrivals a week, fixed conversion and
days per stage: nothing changed) and the same funnel with one change in its last quarter: a
stage's conversion halved, a stage's days tripled, or arrivals halved (the stage turns with the
seed). The verdict runs at the app's default settings, as the live recompute judges a team.
Reports the share of steady funnels with a named bottleneck (the false-alarm rate, at most 5 %
is the aim) and the share of changed funnels whose change is named (at least 90 %).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandParser

from bench.calibration import funnel_verdict
from bench.synthetic import FunnelShape
from funnel.metrics.verdict import VerdictKind

STAGES = 6


def _scenarios(seed: int) -> dict[str, tuple[FunnelShape, tuple]]:
    k = seed % STAGES
    return {
        "conversion halved": (
            FunnelShape(seed=seed, conversion_factor={k: 0.5}),
            ("conversion", k + 1),
        ),
        "days tripled": (FunnelShape(seed=seed, days_factor={k: 3.0}), ("days", k + 1)),
        "arrivals halved": (FunnelShape(seed=seed, arrivals_factor=0.5), ("arrivals", None)),
    }


class Command(BaseCommand):
    help = "False-alarm rate and power of the bottleneck verdict on generated funnels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seeds", type=int, default=100)
        parser.add_argument("--first-seed", type=int, default=1)

    def handle(self, *args, seeds: int, first_seed: int, **options) -> None:
        seeds_run = range(first_seed, first_seed + seeds)
        named, timings = Counter(), []
        lowest_p = []
        for seed in seeds_run:
            started = time.perf_counter()
            verdict = funnel_verdict(FunnelShape(seed=seed))
            timings.append(time.perf_counter() - started)
            ps = [c.p_value for c in verdict.contenders if c.p_value is not None]
            lowest_p.append(min(ps) * len(ps) if ps else 1.0)
            if verdict.kind == VerdictKind.BOTTLENECK:
                winner = next(
                    c
                    for c in verdict.contenders
                    if c.stage_position == verdict.stage_position and c.signal
                )
                named[(winner.metric, verdict.stage_position)] += 1
        alarms = sum(named.values())
        self.stdout.write(
            f"steady funnels, {seeds} seeds: a bottleneck named in {alarms} "
            f"({alarms / seeds:.1%}); {dict(named) or 'none'}"
        )
        self.stdout.write(
            f"  smallest Bonferroni-adjusted p per funnel: median "
            f"{statistics.median(lowest_p):.2f}, share below 0.05 "
            f"{sum(p < 0.05 for p in lowest_p) / seeds:.1%}"
        )
        for name in _scenarios(0):
            found, wrong = 0, Counter()
            for seed in seeds_run:
                shape, (metric, position) = _scenarios(seed)[name]
                verdict = funnel_verdict(shape)
                winner = next(
                    (
                        c
                        for c in verdict.contenders
                        if verdict.kind == VerdictKind.BOTTLENECK
                        and c.signal
                        and c.stage_position == verdict.stage_position
                        and c.gap == verdict.gap
                    ),
                    None,
                )
                got = (winner.metric, winner.stage_position) if winner else ("none", None)
                if got == (metric, position):
                    found += 1
                else:
                    wrong[got] += 1
            self.stdout.write(
                f"{name}, {seeds} seeds: named in {found} ({found / seeds:.1%})"
                + (f"; otherwise {dict(wrong)}" if wrong else "")
            )
        self.stdout.write(
            "one generated funnel and its verdict: median "
            f"{statistics.median(timings) * 1000:.0f} ms"
        )
