"""The set-based writes behind one ingested batch: deals, events, positions and passages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from funnel.bulk import rows_insert, rows_update
from funnel.ingest.events import (
    DEAL_FIELDS,
    DEAL_INSERT_FIELDS,
    POSITION_FIELDS,
    EventIn,
    _Context,
)
from funnel.models import Deal, DealStatus, StageEvent, Team
from funnel.passages import deals_passages_refresh
from funnel.services import deal_position_from_events


def _deals_upsert(
    *, team: Team, events: Sequence[EventIn], context: _Context
) -> tuple[dict[str, int], int, int]:
    """Create deals seen for the first time; apply attributes sent with later events.

    When several events of the batch describe the same deal, the one that occurred last wins.
    """
    latest: dict[str, EventIn] = {}
    for e in sorted(events, key=lambda e: e.occurred_at):
        merged = latest.get(e.deal_external_id)
        latest[e.deal_external_id] = e if merged is None else _merge_attributes(merged, e)
    # Plain dicts, not Deal instances: building a model instance per deal cost more than the
    # rest of this function.
    existing: dict[str, dict] = {
        row["external_id"]: row
        for row in Deal.objects.filter(team=team, external_id__in=list(latest)).values(
            "id", "external_id", "owner_id", "amount", *DEAL_FIELDS
        )
    }
    deal_ids = {ext: deal["id"] for ext, deal in existing.items()}
    new = [ext for ext in latest if ext not in existing]
    # The deals this statement inserted (a concurrent batch may have created some of `new`).
    created_ids: set[int] = set()
    if new:
        now = timezone.now()
        rows = []
        for ext in new:
            attributes = {
                "owner_id": None,
                "amount": None,
                "account": "",
                "department": "",
                "source": "",
                **_attributes(latest[ext], context),
            }
            rows.append(
                (
                    team.id,
                    ext,
                    *(attributes[k] for k in DEAL_INSERT_FIELDS[2:7]),
                    DealStatus.OPEN,
                    "",
                    now,
                    now,
                )
            )
        inserted = rows_insert(
            Deal,
            DEAL_INSERT_FIELDS,
            rows,
            conflict=("team_id", "external_id"),
            returning=("external_id", "id"),
        )
        deal_ids.update(inserted)
        created_ids.update(deal_id for _, deal_id in inserted)
        if len(inserted) < len(new):
            # A concurrent batch created some of these deals first; their rows stand.
            deal_ids.update(
                Deal.objects.filter(team=team, external_id__in=new).values_list("external_id", "id")
            )
    names = ["owner_id", "amount", *DEAL_FIELDS]
    changed: list[tuple] = []
    now = timezone.now()
    for ext, deal in existing.items():
        attributes = _attributes(latest[ext], context)
        if any(deal[k] != v for k, v in attributes.items()):
            deal.update(attributes)
            changed.append((*(deal[k] for k in names), now, deal["id"]))
    rows_update(Deal, [*names, "updated_at"], changed)
    return deal_ids, created_ids, len(changed)


def _merge_attributes(earlier: EventIn, later: EventIn) -> EventIn:
    values = {}
    for name in ("owner_email", "amount", *DEAL_FIELDS):
        value = getattr(later, name)
        values[name] = value if value is not None else getattr(earlier, name)
    return EventIn(
        event_id=later.event_id,
        deal_external_id=later.deal_external_id,
        occurred_at=later.occurred_at,
        stage=later.stage,
        outcome=later.outcome,
        **values,
    )


def _attributes(e: EventIn, context: _Context) -> dict:
    """The deal attributes this event carries (only those present)."""
    attributes: dict = {}
    if e.owner_email:
        attributes["owner_id"] = context.owners[e.owner_email.strip().lower()]
    if e.amount is not None:
        attributes["amount"] = e.amount.quantize(Decimal("0.01"))
    for name in DEAL_FIELDS:
        value = getattr(e, name)
        if value is not None:
            attributes[name] = value.strip()
    return attributes


def _events_insert(
    *,
    team: Team,
    events: Sequence[EventIn],
    deal_ids: dict[str, int],
    context: _Context,
    origin: str,
    by: AbstractBaseUser | None,
) -> list[tuple[int, str]]:
    """Insert the batch, skipping stored event ids; the (deal id, event id) pairs inserted.

    INSERT .. ON CONFLICT DO NOTHING RETURNING tells exactly which rows this transaction wrote,
    even while a concurrent replay of the same batch runs (PostgreSQL and SQLite alike).
    """
    columns = (
        "team_id",
        "deal_id",
        "stage_id",
        "outcome",
        "lost_reason",
        "occurred_at",
        "recorded_at",
        "event_id",
        "origin",
        "recorded_by_id",
    )
    recorded_at = timezone.now()
    by_id = by.pk if by is not None else None
    seen: set[str] = set()
    rows: list[tuple] = []
    for e in events:
        event_id = e.event_id.strip()
        if event_id in seen:
            continue  # the same id twice in one batch is one event
        seen.add(event_id)
        rows.append(
            (
                team.id,
                deal_ids[e.deal_external_id],
                context.stages[e.stage] if e.stage else None,
                e.outcome or "",
                e.lost_reason or "",
                e.occurred_at,
                recorded_at,
                event_id,
                origin,
                by_id,
            )
        )
    return rows_insert(
        StageEvent,
        columns,
        rows,
        conflict=("team_id", "event_id"),
        returning=("deal_id", "event_id"),
    )


def _new_deal_logs(
    events: Sequence[EventIn],
    inserted: list[tuple[int, str]],
    created_ids: set[int],
    context: _Context,
) -> dict[int, list[dict]]:
    """The whole event logs of the deals this batch created: only this batch's events.

    Sorted by (occurred_at, batch order); ids are assigned in batch order, so this is the
    (occurred_at, id) order the log is read in.
    """
    if not created_ids:
        return {}
    accepted = {event_id: deal_id for deal_id, event_id in inserted if deal_id in created_ids}
    logs: dict[int, list[tuple]] = {}
    for order, e in enumerate(events):
        deal_id = accepted.pop(e.event_id.strip(), None)  # pop: a repeated id counts once
        if deal_id is not None:
            logs.setdefault(deal_id, []).append((e.occurred_at, order, e))
    return {
        deal_id: [
            {
                "stage_id": context.stages[e.stage] if e.stage else None,
                "outcome": e.outcome or "",
                "lost_reason": e.lost_reason or "",
                "occurred_at": occurred_at,
            }
            for occurred_at, _, e in sorted(rows, key=lambda r: (r[0], r[1]))
        ]
        for deal_id, rows in logs.items()
    }


def deals_refresh_positions(
    *, team: Team, deal_ids: Iterable[int], new_deal_logs: dict[int, list[dict]] | None = None
) -> int:
    """Re-derive the cached position and the passages of these deals from their event logs.

    `new_deal_logs` holds the complete logs of deals the calling transaction created; they are
    neither locked (the insert holds them) nor read back.
    """
    new_deal_logs = new_deal_logs or {}
    deal_ids = sorted(set(deal_ids) - set(new_deal_logs))
    # Lock the deals first, so two writers touching one deal apply their passage deltas one
    # after the other, each reading the other's committed events.
    list(
        Deal.objects.select_for_update()
        .filter(id__in=deal_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )
    by_deal: dict[int, list[dict]] = dict(new_deal_logs)
    for start in range(0, len(deal_ids), 5000):
        # values_list and hand-built dicts: a third of the cost of .values() per row.
        rows = (
            StageEvent.objects.filter(deal_id__in=deal_ids[start : start + 5000])
            .order_by("deal_id", "occurred_at", "id")
            .values_list("deal_id", "stage_id", "outcome", "lost_reason", "occurred_at")
        )
        for deal_id, stage_id, outcome, lost_reason, occurred_at in rows:
            by_deal.setdefault(deal_id, []).append(
                {
                    "stage_id": stage_id,
                    "outcome": outcome,
                    "lost_reason": lost_reason,
                    "occurred_at": occurred_at,
                }
            )
    now = timezone.now()
    rows = []
    for deal_id, events in by_deal.items():
        position = deal_position_from_events(events)
        rows.append((*(position[name] for name in POSITION_FIELDS), now, deal_id))
    # Plain rows, not Deal instances: model construction cost more than the position itself.
    rows_update(Deal, [*POSITION_FIELDS, "updated_at"], rows)
    deals_passages_refresh(team=team, deal_events=by_deal, new_deal_ids=frozenset(new_deal_logs))
    return len(rows)


def deal_update_positions(deals: list[Deal]) -> None:
    """Write the cached position fields of many deals in one statement."""
    _deals_write(deals, POSITION_FIELDS)


def _deals_write(deals: list[Deal], fields: Sequence[str]) -> None:
    now = timezone.now()
    rows_update(
        Deal,
        [*fields, "updated_at"],
        [(*(getattr(d, name) for name in fields), now, d.id) for d in deals],
    )
