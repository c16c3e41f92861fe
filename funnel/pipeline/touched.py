"""The verdict's inputs kept between runs, updated by what the drains touched.

A team's verdict reads every week's entered, advanced and lost counts per stage and the
days-in-stage histograms of the recent year; a batch of events changes a few (stage, week)
cells of them. Each drain adds the cells it changed to RecomputeState.flow_touched, in its own
transaction under the team lock; the snapshot step keeps the inputs it computed in this process
(`Kept`) under a fresh token written to the same field, and the next run takes them back only
when the stored token is still that one (no other process ran the team since, no rebuild, the
transaction that wrote it committed). Then it re-reads only the touched cells from StageFlow
and rewrites only their StageMetric rows. Anything else (another worker process ran the team,
a rebuild cleared the field, the stages changed, the histogram window moved) reads everything,
as a full recompute does. Either way the figures are the same.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from funnel.metrics.accounting import StageWeek
from funnel.metrics.verdict import BottleneckVerdict
from funnel.models import FlowKind, RecomputeState, Stage, StageFlow, Team
from funnel.pipeline.as_of import LeftDays, left_days_read, stage_weeks_read
from funnel.pipeline.open_deals import OpenDeals

Cell = tuple[int, dt.date]  # stage id, week
SLOT = {FlowKind.ENTERED: 0, FlowKind.ADVANCED: 1, FlowKind.LOST: 2}
TEAMS_KEPT = 64


def flow_touched_add(state: RecomputeState, cells: Iterable[Cell]) -> None:
    """Record StageFlow cells a drain changed (in its transaction, under the team lock)."""
    touched = state.flow_touched
    if touched is None:
        return  # unknown already: the next run reads everything
    new = {f"{stage_id}:{week.isoformat()}" for stage_id, week in cells}
    if new - set(touched["cells"]):
        touched["cells"] = sorted(set(touched["cells"]) | new)
        state.save(update_fields=["flow_touched"])


def flow_touched_forget(team: Team) -> None:
    """StageFlow was rewritten wholesale (a rebuild): the next run reads everything."""
    RecomputeState.objects.filter(team=team).update(flow_touched=None)
    _KEPT.pop(team.id, None)


def _cells_of(touched: dict) -> set[Cell]:
    out = set()
    for text in touched["cells"]:
        stage_id, week = text.split(":")
        out.add((int(stage_id), dt.date.fromisoformat(week)))
    return out


@dataclass
class Kept:
    """A team's inputs as of its last snapshot: counts by (position, week), histograms by
    stage id and week (weeks from `since` on)."""

    token: str
    stages: tuple
    since: dt.date | None
    counts: dict[tuple[int, dt.date], list[int]] = field(default_factory=dict)
    left: LeftDays = field(default_factory=lambda: defaultdict(dict))
    # The last verdict, and what its contenders were computed from (as_of.contenders_basis).
    verdict: BottleneckVerdict | None = None
    verdict_basis: tuple | None = None
    # Every open deal as of the last run (funnel.pipeline.open_deals; PostgreSQL only).
    open_deals: OpenDeals | None = None

    def stage_weeks(self) -> list[StageWeek]:
        return [StageWeek(p, w, *c) for (p, w), c in sorted(self.counts.items())]


# Per process, the latest teams' kept inputs (a worker runs the same teams over and over).
_KEPT: OrderedDict[int, Kept] = OrderedDict()


def stage_key(stages: Sequence[Stage]) -> tuple:
    return tuple((s.id, s.position, s.station) for s in stages)


@dataclass
class Inputs:
    """What a run reads: the counts, and the cells it must rewrite (None: all of them)."""

    kept: Kept
    touched: set[Cell] | None


def inputs_read(*, team: Team, state: RecomputeState, stages: Sequence[Stage]) -> Inputs:
    """The team's weekly counts, from the kept inputs and the touched cells where it can,
    else read in full. The histograms come with `histograms_at` once the window is known."""
    kept = _KEPT.pop(team.id, None)
    stored = state.flow_touched
    if (
        kept is None
        or stored is None
        or stored.get("token") != kept.token
        or kept.stages != stage_key(stages)
    ):
        kept = Kept(token="", stages=stage_key(stages), since=None)
        for row in stage_weeks_read(team, stages):
            kept.counts[row.stage_position, row.week_start] = [row.entered, row.advanced, row.lost]
        return Inputs(kept=kept, touched=None)
    touched = _cells_of(stored)
    _cells_refresh(team, stages, kept, touched)
    return Inputs(kept=kept, touched=touched)


def _cells_refresh(team: Team, stages: Sequence[Stage], kept: Kept, touched: set[Cell]) -> None:
    """Re-read the touched cells from StageFlow into the kept counts and histograms."""
    if not touched:
        return
    position = {s.id: s.position for s in stages}
    counts: dict[Cell, list[int]] = {cell: [0, 0, 0] for cell in touched}
    hist: dict[Cell, list[tuple[int, int]]] = defaultdict(list)
    where = Q()
    for stage_id in {s for s, _ in touched}:
        where |= Q(stage_id=stage_id, week__in=sorted(w for s, w in touched if s == stage_id))
    rows = StageFlow.objects.filter(where, team=team).order_by("stage_id", "week", "days")
    for stage_id, week, kind, days, count in rows.values_list(
        "stage_id", "week", "kind", "days", "count"
    ):
        counts[stage_id, week][SLOT[kind]] += count
        if kind != FlowKind.ENTERED and days >= 0:
            hist[stage_id, week].append((days, count))
    for (stage_id, week), c in counts.items():
        if kept.since is not None and week >= kept.since:
            cells = hist.get((stage_id, week))
            if cells:
                kept.left.setdefault(stage_id, {})[week] = cells
            else:
                kept.left.get(stage_id, {}).pop(week, None)
        if stage_id not in position:
            continue
        key = (position[stage_id], week)
        if any(c):
            kept.counts[key] = c
        else:
            kept.counts.pop(key, None)


def histograms_at(*, team: Team, inputs: Inputs, since: dt.date) -> bool:
    """The histograms from `since` on into the kept inputs; True when they were all read (the
    window moved, or nothing was kept), so every StageMetric row must be rewritten."""
    kept = inputs.kept
    if inputs.touched is not None and kept.since == since:
        return False
    kept.left = left_days_read(team, since=since)
    kept.since = since
    return True


def contenders_kept(inputs: Inputs, basis: tuple, every_row: bool) -> BottleneckVerdict | None:
    """The last verdict, when its contenders stand: the inputs were kept, the drains touched
    no week before the one judged up to (`basis[0]`, the week of the as-of date), and the
    basis is the same (as_of.contenders_basis). Batches of events as they happen touch the
    current week only, so most runs recompute the flows alone."""
    kept, touched = inputs.kept, inputs.touched
    if touched is None or every_row or kept.verdict is None or kept.verdict_basis != basis:
        return None
    end = basis[0]
    if any(week < end for _, week in touched):
        return None
    return kept.verdict


def kept_store(*, team: Team, state: RecomputeState, kept: Kept) -> None:
    """Keep the inputs for the team's next run, under a new token stored with the run."""
    kept.token = secrets.token_hex(8)
    state.flow_touched = {"token": kept.token, "cells": []}
    _KEPT[team.id] = kept
    _KEPT.move_to_end(team.id)
    while len(_KEPT) > TEAMS_KEPT:
        _KEPT.popitem(last=False)


def kept_forget_all() -> None:
    _KEPT.clear()
