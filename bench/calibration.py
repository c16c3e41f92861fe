"""How often the verdict names a bottleneck that is not there, and finds one that is.

Pure computation, no database: a generated funnel (bench.synthetic) becomes the weekly stage
counts and days-in-stage histograms the pipeline would store, and the verdict runs on them at the
app's default settings, as of the generator's `now`, as the live recompute judges a team.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from bench.synthetic import WON, FunnelShape, GeneratedFunnel, funnel_generate
from funnel.default_stages import DEFAULT_STAGES
from funnel.metrics.accounting import (
    DealJourney,
    StageWeek,
    stage_passages,
    stage_weeks_from_journeys,
    week_start,
)
from funnel.metrics.flow import StageFlow, funnel_flow, stage_durations_from_journeys
from funnel.metrics.verdict import BottleneckVerdict, StageSpec, VerdictSettings, bottleneck_verdict

NOW = dt.datetime(2026, 6, 3, 12, tzinfo=dt.UTC)
STAGES = tuple(
    StageSpec(position=i + 1, station=str(s.station), slug=s.slug)
    for i, s in enumerate(DEFAULT_STAGES)
)
POSITIONS = tuple(s.position for s in STAGES)


def funnel_journeys(generated: GeneratedFunnel) -> Iterator[DealJourney]:
    visits: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    closed: dict[int, tuple[str, dt.datetime]] = {}
    for deal, stage, outcome, at in zip(
        generated.deal.tolist(),
        generated.stage.tolist(),
        generated.outcome.tolist(),
        generated.at.tolist(),
        strict=True,
    ):
        moment = dt.datetime.fromtimestamp(at, tz=dt.UTC)
        if stage >= 0:
            visits[deal].append((stage + 1, moment))
        else:
            closed[deal] = ("won" if outcome == WON else "lost", moment)
    for deal, seen in visits.items():
        outcome, at = closed.get(deal, ("open", None))
        yield DealJourney(visits=tuple(seen), outcome=outcome, closed_at=at)


@dataclass(frozen=True)
class Measured:
    stage_weeks: list[StageWeek]
    week_days: dict[int, dict[dt.date, list[tuple[float, int]]]]
    flows: list[StageFlow]


def funnel_measure(generated: GeneratedFunnel, *, now: dt.datetime = NOW) -> Measured:
    """What the pipeline stores for a generated funnel: weekly counts, the days-in-stage
    histograms by the week a deal left a stage (whole days, as StageFlow keeps them), and the
    recent window's flow."""
    journeys = list(funnel_journeys(generated))
    stage_weeks = stage_weeks_from_journeys(journeys, stage_positions=POSITIONS)
    cells: dict[int, dict[dt.date, dict[float, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    for journey in journeys:
        for p in stage_passages(journey, stage_positions=POSITIONS):
            if p.left_at is None or p.skipped:
                continue
            days = float((p.left_at - p.entered_at).total_seconds() // 86400)
            cells[p.stage_position][week_start(p.left_at)][days] += 1
    week_days = {
        position: {week: sorted(h.items()) for week, h in weeks.items()}
        for position, weeks in cells.items()
    }
    recent_from = week_start(now) - dt.timedelta(weeks=VerdictSettings().recent_weeks)
    durations = stage_durations_from_journeys(
        journeys,
        stage_positions=POSITIONS,
        now=now,
        left_from=dt.datetime.combine(recent_from, dt.time(), tzinfo=dt.UTC),
    )
    return Measured(stage_weeks, week_days, funnel_flow(durations))


def funnel_verdict(
    shape: FunnelShape, *, settings: VerdictSettings | None = None, now: dt.datetime = NOW
) -> BottleneckVerdict:
    measured = funnel_measure(funnel_generate(shape, now=now), now=now)
    return bottleneck_verdict(
        stages=STAGES,
        stage_weeks=measured.stage_weeks,
        as_of=now.date(),
        flows=measured.flows,
        week_days=measured.week_days,
        **({"settings": settings} if settings else {}),
    )


def seeded(shape: FunnelShape, seed: int) -> FunnelShape:
    return replace(shape, seed=seed)
