"""Velocity and work in progress (DESIGN.md §4).

Days in stage count only deals that left the stage (advanced or lost): the open ones have not
finished their time yet and would pull the median down. Percentiles are numpy's default (linear
interpolation between order statistics), so the 85th percentile of [1..10] days is 8.65.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from funnel.metrics.accounting import DealJourney, stage_passages

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DaysInStage:
    """Days deals spent in a stage before they left it. None where no deal has left."""

    n: int
    median: float | None
    p85: float | None


def days_in_stage(durations: Sequence[float] | np.ndarray) -> DaysInStage:
    values = np.asarray(durations, dtype=float)
    if values.size == 0:
        return DaysInStage(n=0, median=None, p85=None)
    median, p85 = np.percentile(values, [50, 85])
    return DaysInStage(n=int(values.size), median=float(median), p85=float(p85))


def days_in_stage_counts(cells: Iterable[tuple[float, int]]) -> DaysInStage:
    """days_in_stage of a histogram: (days, how many deals) pairs, without expanding it.

    The same linear interpolation between order statistics as numpy's default percentile;
    the order statistics found by a cumulative count (numpy), the arithmetic on them in
    Python floats as numpy's percentile does it.
    """
    pairs = np.array(list(cells), dtype=float).reshape(-1, 2)
    pairs = pairs[pairs[:, 1].astype(np.int64) > 0]
    if not pairs.size:
        return DaysInStage(n=0, median=None, p85=None)
    order = np.argsort(pairs[:, 0], kind="stable")
    days = pairs[order, 0]
    seen = np.cumsum(pairs[order, 1].astype(np.int64))
    n = int(seen[-1])

    def order_statistic(k: int) -> float:  # the k-th smallest value, 0-based
        return float(days[min(int(np.searchsorted(seen, k, side="right")), days.size - 1)])

    def percentile(q: float) -> float:
        position = q * (n - 1)
        low = int(position)
        fraction = position - low
        value = order_statistic(low)
        if fraction:
            value += (order_statistic(low + 1) - value) * fraction
        return value

    return DaysInStage(n=n, median=percentile(0.50), p85=percentile(0.85))


@dataclass(frozen=True, slots=True)
class StageFlow:
    """Flow of one stage: how long deals take in it, how many wait in it, how many too long.

    ``aged_wip`` counts open deals older than ``aged_after_days``: the stage's target days, or
    where no target is set its own 85th percentile. None when neither exists.
    """

    stage_position: int
    days: DaysInStage
    wip: int
    aged_wip: int | None
    aged_after_days: float | None
    aged_basis: Literal["target", "p85"] | None
    target_days: float | None


def stage_flow(
    *,
    stage_position: int,
    left_days: Sequence[float] | np.ndarray,
    open_age_days: Sequence[float] | np.ndarray,
    target_days: float | None = None,
) -> StageFlow:
    """Flow of one stage from the durations of deals that left it and the ages of open ones."""
    days = days_in_stage(left_days)
    ages = np.asarray(open_age_days, dtype=float)
    basis: Literal["target", "p85"] | None
    if target_days is not None:
        threshold, basis = float(target_days), "target"
    elif days.p85 is not None:
        threshold, basis = days.p85, "p85"
    else:
        threshold, basis = None, None
    aged = None if threshold is None else int(np.count_nonzero(ages > threshold))
    return StageFlow(
        stage_position=stage_position,
        days=days,
        wip=int(ages.size),
        aged_wip=aged,
        aged_after_days=threshold,
        aged_basis=basis,
        target_days=None if target_days is None else float(target_days),
    )


@dataclass(frozen=True, slots=True)
class StageDurations:
    """Raw durations of one stage, in days: of deals that left it, and ages of open ones."""

    stage_position: int
    left_days: tuple[float, ...]
    open_age_days: tuple[float, ...]


def stage_durations_from_journeys(
    journeys: Iterable[DealJourney],
    *,
    stage_positions: Sequence[int],
    now: datetime,
    left_from: datetime | None = None,
    left_to: datetime | None = None,
) -> list[StageDurations]:
    """Per stage durations from per-deal journeys, in funnel order.

    Only exits in [left_from, left_to) count (e.g. the recent window). Stages a deal skipped
    are left out: it never waited in them. An open deal's age runs from when it first entered
    the stage it waits in (its furthest stage) to ``now``.
    """
    left: dict[int, list[float]] = {position: [] for position in stage_positions}
    ages: dict[int, list[float]] = {position: [] for position in stage_positions}
    for journey in journeys:
        for passage in stage_passages(journey, stage_positions=stage_positions):
            if passage.left_at is None:
                age = (now - passage.entered_at).total_seconds() / SECONDS_PER_DAY
                ages[passage.stage_position].append(max(0.0, age))
                continue
            if passage.skipped:
                continue
            if left_from is not None and passage.left_at < left_from:
                continue
            if left_to is not None and passage.left_at >= left_to:
                continue
            spent = (passage.left_at - passage.entered_at).total_seconds() / SECONDS_PER_DAY
            left[passage.stage_position].append(spent)
    return [
        StageDurations(position, tuple(left[position]), tuple(ages[position]))
        for position in sorted(stage_positions)
    ]


def funnel_flow(
    durations: Iterable[StageDurations], *, target_days: dict[int, float | None] | None = None
) -> list[StageFlow]:
    """Flow of every stage from its durations; ``target_days`` maps stage position to target."""
    targets = target_days or {}
    return [
        stage_flow(
            stage_position=d.stage_position,
            left_days=d.left_days,
            open_age_days=d.open_age_days,
            target_days=targets.get(d.stage_position),
        )
        for d in durations
    ]
