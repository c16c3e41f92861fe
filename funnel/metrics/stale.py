"""Stale open deals: a team's rule that an open deal with no event for N days counts as lost.

Pure computation over plain values. A stale deal is a derived view: its events are never
rewritten; the accounting reads its journey as lost at (last event + N days), and a new event
makes it open again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from funnel.metrics.accounting import DealJourney

PROPOSAL_PERCENTILE = 95
PROPOSAL_MIN_GAPS = 20


@dataclass(frozen=True, slots=True)
class StaleCut:
    """The rule at one as-of moment: open deals whose last event is more than `days` days
    before `as_of` are stale."""

    days: int
    as_of: datetime

    @property
    def cutoff(self) -> datetime:
        """A last event before this instant makes an open deal stale."""
        return self.as_of - timedelta(days=self.days)

    def is_stale(self, last_event_at: datetime) -> bool:
        return last_event_at < self.cutoff


def journey_with_stale(
    journey: DealJourney, *, last_event_at: datetime, cut: StaleCut | None
) -> DealJourney:
    """The journey the accounting reads: an open deal that is stale by the cut is lost at its
    last event + N days, in the stage it was in; every other journey is unchanged."""
    if cut is None or journey.outcome != "open" or not cut.is_stale(last_event_at):
        return journey
    return DealJourney(
        visits=journey.visits,
        outcome="lost",
        closed_at=last_event_at + timedelta(days=cut.days),
    )


@dataclass(frozen=True, slots=True)
class StaleProposal:
    """N proposed from the data: the `percentile`th percentile of the gaps between consecutive
    events of closed deals (`percentile_days`), rounded up to whole weeks (`days`)."""

    days: int
    percentile: int
    percentile_days: float
    gaps: int
    deals: int


def nearest_rank(values: Sequence[float], percentile: int) -> float:
    """The nearest-rank percentile: the ceil(p/100 * n)-th smallest value (1-based)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


def stale_days_proposal(
    event_times: Sequence[Sequence[datetime]],
    *,
    percentile: int = PROPOSAL_PERCENTILE,
    min_gaps: int = PROPOSAL_MIN_GAPS,
) -> StaleProposal | None:
    """Propose N from the event times of deals that later closed (each deal's times in order,
    the outcome last): a deal that went longer than this without an event is rarer than
    1 in 20 among deals that did close. None when there are too few gaps to say."""
    gaps = [
        (later - earlier).total_seconds() / 86400
        for times in event_times
        for earlier, later in pairwise(times)
    ]
    if len(gaps) < min_gaps:
        return None
    value = nearest_rank(gaps, percentile)
    weeks = max(1, math.ceil(value / 7))
    return StaleProposal(
        days=weeks * 7,
        percentile=percentile,
        percentile_days=value,
        gaps=len(gaps),
        deals=len(event_times),
    )
