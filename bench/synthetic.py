"""Generated funnels with known shape, for scenario tests and benchmarks.

Deals arrive (Poisson per week), spend a log-normal number of days in each stage, then advance
with the stage's conversion or are lost; deals still in a stage at `now` stay open there. A
scenario can change one stage's conversion or days, or the arrival rate, for the last weeks, so
a test knows which bottleneck the app ought to name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from funnel.default_stages import DEFAULT_STAGES
from funnel.ingest import EventIn

OPEN, WON, LOST = 0, 1, 2


@dataclass(frozen=True)
class FunnelShape:
    weeks: int = 52
    arrivals_per_week: float = 60.0
    conversions: tuple[float, ...] = (0.75, 0.65, 0.6, 0.6, 0.75, 0.95)
    median_days: tuple[float, ...] = (4.0, 7.0, 10.0, 10.0, 7.0, 7.0)
    stage_slugs: tuple[str, ...] = tuple(s.slug for s in DEFAULT_STAGES)
    change_weeks: int = 13  # the last weeks the changes below apply to
    conversion_factor: dict[int, float] = field(default_factory=dict)  # stage index -> factor
    days_factor: dict[int, float] = field(default_factory=dict)
    arrivals_factor: float = 1.0
    seed: int = 7


@dataclass(frozen=True)
class GeneratedFunnel:
    """Columnar events: deal index, stage index (-1 for an outcome), outcome, time (epoch s)."""

    deals: int
    deal: np.ndarray
    stage: np.ndarray
    outcome: np.ndarray
    at: np.ndarray
    shape: FunnelShape

    def __len__(self) -> int:
        return int(self.deal.size)


def funnel_generate(shape: FunnelShape, *, now: dt.datetime) -> GeneratedFunnel:
    rng = np.random.default_rng(shape.seed)
    end = now.timestamp()
    start = end - shape.weeks * 7 * 86400
    change_from = end - shape.change_weeks * 7 * 86400
    weekly = []
    for week in range(shape.weeks):
        week_start = start + week * 7 * 86400
        rate = shape.arrivals_per_week
        if week_start >= change_from:
            rate *= shape.arrivals_factor
        count = rng.poisson(rate)
        weekly.append(week_start + rng.uniform(0, 7 * 86400, count))
    arrive = np.concatenate(weekly) if weekly else np.empty(0)
    arrive.sort()
    n = arrive.size
    deal_ids = np.arange(n)
    cols_deal, cols_stage, cols_outcome, cols_at = [], [], [], []
    alive = np.ones(n, dtype=bool)
    t = arrive.copy()
    for i, conversion in enumerate(shape.conversions):
        idx = np.flatnonzero(alive)
        cols_deal.append(idx)
        cols_stage.append(np.full(idx.size, i))
        cols_outcome.append(np.zeros(idx.size, dtype=np.int8))
        cols_at.append(t[idx])
        median = shape.median_days[i] * 86400
        stay = rng.lognormal(np.log(median), 0.6, idx.size)
        leave = t[idx] + stay
        slowed = leave >= change_from
        if i in shape.days_factor:
            leave = np.where(slowed, t[idx] + stay * shape.days_factor[i], leave)
        still_open = leave > end
        p = np.where(
            leave >= change_from, conversion * shape.conversion_factor.get(i, 1.0), conversion
        )
        advances = rng.uniform(size=idx.size) < p
        lost = ~still_open & ~advances
        alive[idx[still_open | lost]] = False
        lost_idx = idx[lost]
        cols_deal.append(lost_idx)
        cols_stage.append(np.full(lost_idx.size, -1))
        cols_outcome.append(np.full(lost_idx.size, LOST, dtype=np.int8))
        cols_at.append(leave[lost])
        t[idx] = leave
    won_idx = np.flatnonzero(alive)
    cols_deal.append(won_idx)
    cols_stage.append(np.full(won_idx.size, -1))
    cols_outcome.append(np.full(won_idx.size, WON, dtype=np.int8))
    cols_at.append(t[won_idx])
    deal = np.concatenate(cols_deal)
    order = np.lexsort((np.concatenate(cols_at), deal))
    return GeneratedFunnel(
        deals=n,
        deal=deal_ids[deal][order],
        stage=np.concatenate(cols_stage)[order],
        outcome=np.concatenate(cols_outcome)[order],
        at=np.concatenate(cols_at)[order],
        shape=shape,
    )


def funnel_events(generated: GeneratedFunnel, *, prefix: str = "syn") -> list[EventIn]:
    """The generated funnel as events for the ingestion service."""
    slugs = generated.shape.stage_slugs
    events = []
    step: dict[int, int] = {}
    for deal, stage, outcome, at in zip(
        generated.deal.tolist(),
        generated.stage.tolist(),
        generated.outcome.tolist(),
        generated.at.tolist(),
        strict=True,
    ):
        k = step[deal] = step.get(deal, 0) + 1
        events.append(
            EventIn(
                event_id=f"{prefix}-{deal}-{k}",
                deal_external_id=f"{prefix}-{deal}",
                occurred_at=dt.datetime.fromtimestamp(at, tz=dt.UTC),
                stage=slugs[stage] if stage >= 0 else None,
                outcome=None if stage >= 0 else ("won" if outcome == WON else "lost"),
            )
        )
    return events
