"""A deal's position (current stage, status, dates), derived from its event log and cached on
the deal by the ingest, and re-derived here when asked.

A log is read in one order everywhere (positions, passages, the import): by occurred_at, and
events at the same instant by the funnel's order, stages first in their order, then the outcomes
(lost before won). Never by arrival or file position: the same events give the same position
whatever order they came in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from funnel.models import Deal, DealStatus, Outcome, Stage, StageEvent

# Outcomes sort after every stage at the same instant; positions are small integers.
OUTCOME_RANK = {Outcome.LOST.value: 1_000_000, Outcome.WON.value: 1_000_001}


def event_rank(*, stage_position: int | None, outcome: str | None) -> int:
    """Where an event sorts among the deal's events at the same instant."""
    if outcome:
        return OUTCOME_RANK[outcome]
    return stage_position or 0


def events_in_log_order(events: Sequence[dict], stage_positions: Mapping[int, int]) -> list[dict]:
    """Events (dicts with occurred_at, stage_id, outcome) sorted into the log's order. The sort
    is stable, so identical events keep the order they were read in."""
    events = list(events)
    if not any(a["occurred_at"] == b["occurred_at"] for a, b in pairwise(events)):
        return sorted(events, key=lambda e: e["occurred_at"])
    return sorted(
        events,
        key=lambda e: (
            e["occurred_at"],
            event_rank(stage_position=stage_positions.get(e["stage_id"]), outcome=e["outcome"]),
        ),
    )


def deal_refresh_position(*, deal: Deal) -> Deal:
    """Re-derive a deal's cached position (status, current stage, dates) from its event log.

    The last event in the log's order (see above) decides the status and the stage.
    """
    rows = Stage.objects.filter(team_id=deal.team_id).values_list(
        "id", "position", "merged_into_id"
    )
    stage_positions = {stage_id: position for stage_id, position, _ in rows}
    # A merged stage's events count for the stage it was merged into (funnel.stages.history).
    merged = {stage_id: into for stage_id, _, into in rows if into is not None}
    events = events_in_log_order(
        StageEvent.objects.filter(deal=deal)
        .order_by("occurred_at", "id")
        .values("stage_id", "outcome", "lost_reason", "occurred_at"),
        stage_positions,
    )
    if not events:
        return deal
    position = deal_position_from_events(events)
    for _ in range(len(merged)):
        if position["current_stage_id"] not in merged:
            break
        position["current_stage_id"] = merged[position["current_stage_id"]]
    for field, value in position.items():
        setattr(deal, field, value)
    deal.save(update_fields=[*position, "updated_at"])
    return deal


def deal_refresh_position_by_id(*, deal_id: int) -> Deal | None:
    deal = Deal.objects.filter(id=deal_id).first()
    return deal_refresh_position(deal=deal) if deal is not None else None


# The plain text, not the enum member: positions are written in bulk, and psycopg writes a str
# subclass through a slower path.
OPEN = DealStatus.OPEN.value


def deal_position_from_events(events: list[dict]) -> dict:
    """The cached fields of a deal, from its events in the log's order (events_in_log_order)."""
    last = events[-1]
    position = {
        "opened_at": events[0]["occurred_at"],
        "status": last["outcome"] or OPEN,
        "lost_reason": last["lost_reason"] if last["outcome"] == Outcome.LOST else "",
        "closed_at": last["occurred_at"] if last["outcome"] else None,
    }
    # The stage the deal is in (open) or was last in (closed), and when it entered it.
    stage_id, entered_at = None, None
    for event in events:
        if event["stage_id"] is not None and event["stage_id"] != stage_id:
            stage_id, entered_at = event["stage_id"], event["occurred_at"]
    position["current_stage_id"] = stage_id
    position["stage_entered_at"] = entered_at
    position["last_event_at"] = last["occurred_at"]
    return position


def deal_position_extend(position: dict, events: list[dict]) -> dict:
    """The position after `events`, which all sort after the log `position` was derived from.

    Equal to deal_position_from_events(log + events), without reading the log again.
    """
    position = dict(position)
    stage_id, entered_at = position["current_stage_id"], position["stage_entered_at"]
    for event in events:
        if event["stage_id"] is not None and event["stage_id"] != stage_id:
            stage_id, entered_at = event["stage_id"], event["occurred_at"]
    last = events[-1]
    position.update(
        status=last["outcome"] or OPEN,
        lost_reason=last["lost_reason"] if last["outcome"] == Outcome.LOST else "",
        closed_at=last["occurred_at"] if last["outcome"] else None,
        current_stage_id=stage_id,
        stage_entered_at=entered_at,
        last_event_at=last["occurred_at"],
    )
    if position.get("opened_at") is None:
        position["opened_at"] = events[0]["occurred_at"]
    return position
