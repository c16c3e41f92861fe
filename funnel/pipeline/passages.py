"""Deal passages and the weekly stage-flow counts, kept exact as events arrive.

Ingestion marks the deals a batch touched (PendingDeal). The team's recompute drains the marks
(`team_pending_drain`): each marked deal's passages are re-derived from its whole event log (so
an event arriving out of order repairs what it changes), compared with the stored ones, and only
the difference is applied to StageFlow. The recompute then reads a few thousand StageFlow rows,
never the raw log. `team_flow_rebuild` re-derives everything from the log: the nightly drift
repair. On PostgreSQL both are one statement each (funnel.pipeline.passages_sql).

A team's stale rule (funnel.pipeline.stale) reads an open deal with no event for N days as lost
at its last event + N days: the rebuild fixes the cut and records it, the drain applies it.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from funnel.bulk import among, rows_insert
from funnel.metrics.accounting import DealJourney, StagePassage, stage_passages
from funnel.metrics.stale import StaleCut, journey_with_stale
from funnel.models import (
    Deal,
    DealPassage,
    FlowKind,
    PendingDeal,
    RecomputeState,
    Stage,
    StageEvent,
    StageFlow,
    Team,
)
from funnel.pipeline.passages_sql import (
    deals_passages_sync_sql,
    team_passages_sync_sql,
)
from funnel.pipeline.stage_flow import FlowKey, stage_flow_apply
from funnel.pipeline.stale import stale_cut_of, team_stale_cut
from funnel.pipeline.touched import flow_touched_add, flow_touched_forget
from funnel.positions import events_in_log_order

logger = logging.getLogger(__name__)

NO_DAYS = -1  # entries, and stages a deal skipped, have no days in stage
MAX_DAYS = 32767


def _zone() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def week_of(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    day = moment.astimezone(zone).date()
    return day - dt.timedelta(days=day.weekday())


def whole_days(entered_at: dt.datetime, left_at: dt.datetime) -> int:
    return max(0, min(MAX_DAYS, int((left_at - entered_at).total_seconds() // 86400)))


def journey_from_events(events: Sequence[dict], positions: dict[int, int]) -> DealJourney:
    """A deal's journey from its events, put in the log's order (funnel.positions)."""
    events = events_in_log_order(events, positions)
    visits = tuple(
        (positions[e["stage_id"]], e["occurred_at"]) for e in events if e["stage_id"] is not None
    )
    last = events[-1]
    if last["outcome"]:
        return DealJourney(visits=visits, outcome=last["outcome"], closed_at=last["occurred_at"])
    return DealJourney(visits=visits)


def _journey_of_team(
    events: Sequence[dict], positions: dict[int, int], skipped: Counter, stale: StaleCut | None
) -> DealJourney:
    """journey_from_events without the events at a stage that is not the team's (another
    team's, or gone: the log keeps no database checks, see funnel.integrity), counted in
    `skipped`. The look-up only fails for such a log, so the usual one costs nothing more.
    An open deal that is stale by the team's rule (`stale`) reads as lost."""
    try:
        journey = journey_from_events(events, positions)
    except KeyError:
        kept = [e for e in events if e["stage_id"] is None or e["stage_id"] in positions]
        skipped["events at a stage not of the team"] += len(events) - len(kept)
        journey = journey_from_events(kept, positions) if kept else DealJourney(visits=())
    return journey_with_stale(journey, last_event_at=events[-1]["occurred_at"], cut=stale)


def _skipped_warn(team: Team, skipped: Counter) -> None:
    found = [f"{n} {what}" for what, n in skipped.items() if n]
    if found:
        logger.warning(
            "passages team=%s: skipped %s; manage.py integrity_check lists them",
            team.slug,
            ", ".join(found),
        )


def passage_flow_keys(
    stage_id: int,
    entered_at: dt.datetime,
    left_at: dt.datetime | None,
    result: str,
    skipped: bool,
    zone: dt.tzinfo,
) -> list[FlowKey]:
    """The StageFlow cells one passage counts in: its entry, and its exit once decided."""
    keys: list[FlowKey] = [(stage_id, week_of(entered_at, zone), FlowKind.ENTERED, NO_DAYS)]
    if left_at is not None and result != "open":
        days = NO_DAYS if skipped else whole_days(entered_at, left_at)
        keys.append((stage_id, week_of(left_at, zone), result, days))
    return keys


@dataclass(frozen=True, slots=True)
class StageMaps:
    """How a team's events map onto its funnel.

    `positions`: every stage id an event may name -> the position its events count at; a
    merged stage's events count at the stage it was merged into (followed along a chain), so
    the log stays append-only and a merge is undone by nothing more than a rebuild.
    `stage_at`: position -> the stage counted there. `retired`: position -> when that stage was
    retired; a deal opened after it does not pass it (it can record no event there), a deal
    opened before passes it as before, so the retired stage's past counts do not change.
    """

    positions: dict[int, int]
    stage_at: dict[int, int]
    retired: dict[int, dt.datetime]
    ordered: list[int]

    def ordered_for(self, events: Sequence[dict]) -> list[int]:
        """The positions a deal with these events (first event first) may pass."""
        if not self.retired or not events:
            return self.ordered
        opened = events[0]["occurred_at"]
        return [p for p in self.ordered if p not in self.retired or opened < self.retired[p]]


def _stage_maps(team: Team) -> StageMaps:
    rows = list(
        Stage.objects.filter(team=team).values_list(
            "id", "position", "merged_into_id", "retired_at"
        )
    )
    merged = {stage_id: into for stage_id, _, into, _ in rows if into is not None}
    own = {stage_id: position for stage_id, position, into, _ in rows if into is None}
    positions = dict(own)
    for stage_id in merged:
        target, seen = stage_id, set()
        while target in merged and target not in seen:
            seen.add(target)
            target = merged[target]
        if target in own:
            positions[stage_id] = own[target]
    return StageMaps(
        positions=positions,
        stage_at={position: stage_id for stage_id, position in own.items()},
        retired={own[i]: at for i, _, into, at in rows if into is None and at is not None},
        ordered=sorted(own.values()),
    )


def deals_passages_refresh(
    *, team: Team, deal_events: dict[int, list[dict]], stale: StaleCut | None = None
) -> Counter:
    """Re-derive the passages of these deals and apply the change to StageFlow.

    `deal_events` maps each deal id to its whole event log sorted by (occurred_at, id), as dicts
    with stage_id, outcome and occurred_at. Only passages that changed are rewritten (a deal
    moving on changes two: the stage it left and the one it entered). `stale` is the cut of the
    team's stale rule the passages are derived under. Returns the StageFlow delta applied.
    """
    if not deal_events:
        return Counter()
    zone = _zone()
    maps = _stage_maps(team)
    positions, stage_at = maps.positions, maps.stage_at
    stored: dict[tuple[int, int], tuple[int, tuple]] = {
        (deal_id, stage_id): (passage_id, rest)
        for passage_id, deal_id, stage_id, *rest in DealPassage.objects.filter(
            deal_id__in=among(list(deal_events))
        ).values_list("id", "deal_id", "stage_id", "entered_at", "left_at", "result", "skipped")
    }
    delta: Counter = Counter()
    new_rows: list[tuple] = []
    gone: list[int] = []
    skipped: Counter = Counter()
    for deal_id, events in deal_events.items():
        journey = _journey_of_team(events, positions, skipped, stale)
        for p in stage_passages(journey, stage_positions=maps.ordered_for(events)):
            stage_id = stage_at[p.stage_position]
            values = (p.entered_at, p.left_at, p.result, p.skipped)
            old = stored.pop((deal_id, stage_id), None)
            if old is not None:
                if tuple(old[1]) == values:
                    continue
                gone.append(old[0])
                for key in passage_flow_keys(stage_id, *old[1], zone):
                    delta[key] -= 1
            new_rows.append((team.id, deal_id, stage_id, *values))
            for key in passage_flow_keys(stage_id, *values, zone):
                delta[key] += 1
    for (_, stage_id), (passage_id, rest) in stored.items():  # stages no longer passed
        gone.append(passage_id)
        for key in passage_flow_keys(stage_id, *rest, zone):
            delta[key] -= 1
    if gone:
        DealPassage.objects.filter(id__in=among(gone))._raw_delete(DealPassage.objects.db)
    rows_insert(DealPassage, PASSAGE_FIELDS, new_rows)
    stage_flow_apply(team_id=team.id, delta=delta)
    _skipped_warn(team, skipped)
    return delta


PASSAGE_FIELDS = ("team_id", "deal_id", "stage_id", "entered_at", "left_at", "result", "skipped")


def _passage_row(team_id: int, deal_id: int, stage_id: int, p: StagePassage) -> tuple:
    return (team_id, deal_id, stage_id, p.entered_at, p.left_at, p.result, p.skipped)


def team_lock(team: Team) -> RecomputeState:
    """Take the team's recompute lock for the rest of the transaction."""
    RecomputeState.objects.bulk_create([RecomputeState(team=team)], ignore_conflicts=True)
    return RecomputeState.objects.select_for_update().get(team=team)


def team_pending_drain(*, team: Team, chunk: int = 5000) -> int:
    """Take in the events of every deal marked pending: re-derive its passages, apply the
    StageFlow delta, delete the mark. Returns how many deals it re-derived.

    Each chunk is one transaction under the team lock. The deals are locked before their marks
    are deleted and their logs read: a batch still writing to one of them holds its lock, so
    its events are read once it commits, and its mark (which it inserts after locking the deal)
    is never deleted unread.
    """
    done = 0
    while True:
        with transaction.atomic():
            state = team_lock(team)
            stale = stale_cut_of(state)
            ids = list(
                PendingDeal.objects.filter(team=team)
                .order_by("deal_id")
                .values_list("deal_id", flat=True)[:chunk]
            )
            if not ids:
                return done
            # Only the team's deals: a mark of a deal that is gone, or another team's (no
            # database checks on the marks), is deleted unread.
            locked = list(
                Deal.objects.select_for_update()
                .filter(id__in=among(ids), team_id=team.id)
                .order_by("id")
                .values_list("id", flat=True)
            )
            PendingDeal.objects.filter(deal_id__in=among(ids))._raw_delete(PendingDeal.objects.db)
            _skipped_warn(
                team, Counter({"pending marks of no deal of the team": len(ids) - len(locked)})
            )
            flow_touched_add(state, _deals_refresh(team, locked, stale))
        done += len(locked)
        if len(ids) < chunk:
            return done


def _deals_refresh(team: Team, deal_ids: list[int], stale: StaleCut | None) -> set:
    """Re-derive these locked deals' passages and apply the change to StageFlow; returns the
    (stage id, week) cells changed. On PostgreSQL in one statement (funnel.pipeline.
    passages_sql, the same derivation), elsewhere deal by deal (`deals_passages_refresh`)."""
    if not deal_ids:
        return set()
    if connection.vendor == "postgresql":
        cells, foreign = deals_passages_sync_sql(
            team_id=team.id, deal_ids=deal_ids, maps=_stage_maps(team), stale=stale
        )
        _skipped_warn(team, Counter({"events at a stage not of the team": foreign}))
        return cells
    delta = deals_passages_refresh(
        team=team, deal_events=dict(_deal_event_logs(deal_ids)), stale=stale
    )
    return {(key[0], key[1]) for key, n in delta.items() if n}


def _deal_event_logs(deal_ids: Sequence[int]) -> Iterable[tuple[int, list[dict]]]:
    rows = (
        StageEvent.objects.filter(deal_id__in=among(deal_ids))
        .order_by("deal_id", "occurred_at", "id")
        .values_list("deal_id", "stage_id", "outcome", "occurred_at")
    )
    # A drain's worth in one fetch (cheaper than the chunked iterator); a rebuild streams.
    rows = list(rows) if len(deal_ids) <= 20000 else rows.iterator(chunk_size=20000)
    current, events = None, []
    for deal_id, stage_id, outcome, occurred_at in rows:
        if deal_id != current:
            if events:
                yield current, events
            current, events = deal_id, []
        events.append({"stage_id": stage_id, "outcome": outcome, "occurred_at": occurred_at})
    if events:
        yield current, events


@transaction.atomic
def team_flow_rebuild(*, team: Team, chunk: int = 20000, now: dt.datetime | None = None) -> int:
    """Re-derive every passage and StageFlow count of a team from its event log, under the
    stale rule in force as of `now` (recorded for the drains until the next rebuild).

    Pending marks stay: draining one later re-derives that deal against these passages again.
    """
    state = team_lock(team)
    stale = team_stale_cut(team=team, now=now or timezone.now())
    state.stale_days = stale.days if stale else None
    state.stale_as_of = stale.as_of if stale else None
    state.save(update_fields=["stale_days", "stale_as_of"])
    if connection.vendor == "postgresql":
        return _team_flow_rebuild_set_based(team, stale)
    return _team_flow_rebuild_python(team, stale, chunk)


def _team_flow_rebuild_set_based(team: Team, stale: StaleCut | None) -> int:
    """The same derivation in one statement (funnel.pipeline.passages_sql), writing only the
    passages that changed, and the weekly counts from them."""
    StageFlow.objects.filter(team=team)._raw_delete(StageFlow.objects.db)
    flow_touched_forget(team)
    foreign = team_passages_sync_sql(team_id=team.id, maps=_stage_maps(team), stale=stale)[1]
    _skipped_warn(team, Counter({"events at a stage not of the team": foreign}))
    return team.deals.count()


def _team_flow_rebuild_python(team: Team, stale: StaleCut | None, chunk: int) -> int:
    """Deal by deal in Python: SQLite's path, and the reference the statement is tested on."""
    DealPassage.objects.filter(team=team)._raw_delete(DealPassage.objects.db)
    StageFlow.objects.filter(team=team)._raw_delete(StageFlow.objects.db)
    flow_touched_forget(team)
    zone, maps = _zone(), _stage_maps(team)
    positions, stage_at = maps.positions, maps.stage_at
    deal_ids = list(team.deals.order_by("id").values_list("id", flat=True))
    totals: Counter = Counter()
    skipped: Counter = Counter()
    for start in range(0, len(deal_ids), chunk):
        rows = []
        for deal_id, events in _deal_event_logs(deal_ids[start : start + chunk]):
            journey = _journey_of_team(events, positions, skipped, stale)
            for p in stage_passages(journey, stage_positions=maps.ordered_for(events)):
                stage_id = stage_at[p.stage_position]
                rows.append(_passage_row(team.id, deal_id, stage_id, p))
                for key in passage_flow_keys(
                    stage_id, p.entered_at, p.left_at, p.result, p.skipped, zone
                ):
                    totals[key] += 1
        rows_insert(DealPassage, PASSAGE_FIELDS, rows)
    stage_flow_apply(team_id=team.id, delta=totals)
    _skipped_warn(team, skipped)
    return len(deal_ids)
