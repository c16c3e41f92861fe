"""Stage events in: the one service the API, the CSV import and the browser all write through.

A batch is validated whole before anything is written; a batch with any bad event writes nothing
and reports every problem by index and field. Event ids make ingestion idempotent: an id already
stored (also one stored a moment ago by a concurrent replay of the same batch) counts as a
duplicate, never twice. Each touched deal's cached position is re-derived from its whole event
log, so events arriving out of order give the same result as in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.bulk import rows_insert, rows_update
from funnel.models import (
    Deal,
    DealStatus,
    Membership,
    Origin,
    Outcome,
    Role,
    Stage,
    StageEvent,
    Team,
)
from funnel.passages import deals_passages_refresh
from funnel.services import deal_position_from_events

MAX_BATCH = 1000
# Clocks differ; a CRM may stamp an event a little ahead of ours, but not days ahead.
FUTURE_TOLERANCE = dt.timedelta(hours=24)
MAX_AMOUNT = Decimal("999999999999.99")
DEAL_FIELDS = ("account", "department", "source")
DEAL_INSERT_FIELDS = (
    "team_id",
    "external_id",
    "owner_id",
    "amount",
    *DEAL_FIELDS,
    "status",
    "lost_reason",
    "created_at",
    "updated_at",
)
POSITION_FIELDS = (
    "status",
    "lost_reason",
    "current_stage_id",
    "stage_entered_at",
    "opened_at",
    "closed_at",
)


@dataclass(frozen=True, slots=True)
class EventIn:
    """One stage event as a sender describes it; values already parsed, not yet validated."""

    event_id: str
    deal_external_id: str
    occurred_at: dt.datetime
    stage: str | None = None
    outcome: str | None = None
    lost_reason: str = ""
    owner_email: str | None = None
    account: str | None = None
    department: str | None = None
    source: str | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class EventError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestRejected(Exception):
    """The batch has bad events; nothing was written."""

    def __init__(self, errors: Sequence[EventError]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} invalid event(s); nothing was written.")


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    deals_created: int = 0
    deals_updated: int = 0
    accepted_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "deals_created": self.deals_created,
            "deals_updated": self.deals_updated,
        }


@dataclass(frozen=True, slots=True)
class _Context:
    stages: dict[str, int]
    owners: dict[str, int]


def _team_context(*, team: Team, events: Sequence[EventIn]) -> _Context:
    stages = dict(Stage.objects.filter(team=team).values_list("slug", "id"))
    emails = {e.owner_email.strip().lower() for e in events if e.owner_email}
    owners: dict[str, int] = {}
    if emails:
        owners = dict(
            Membership.objects.filter(
                team=team, role__in=[Role.REP, Role.MANAGER], user__email__in=emails
            ).values_list("user__email", "user_id")
        )
    return _Context(stages=stages, owners=owners)


def _text_error(index: int, name: str, value: str | None, limit: int) -> EventError | None:
    if value is not None and len(value) > limit:
        return EventError(index, name, f"Must be at most {limit} characters.")
    return None


def stage_events_validate(
    *, team: Team, events: Sequence[EventIn], now: dt.datetime | None = None
) -> list[EventError]:
    """Every problem in the batch, by event index and field. Empty when the batch is good."""
    context = _team_context(team=team, events=events)
    return _validate(events, context, now or timezone.now())


def _validate(events: Sequence[EventIn], context: _Context, now: dt.datetime) -> list[EventError]:
    errors: list[EventError] = []
    latest_allowed = now + FUTURE_TOLERANCE
    for i, e in enumerate(events):
        if not e.event_id or not e.event_id.strip():
            errors.append(EventError(i, "id", "An event id is required."))
        elif len(e.event_id) > 120:
            errors.append(EventError(i, "id", "Must be at most 120 characters."))
        if not e.deal_external_id or not e.deal_external_id.strip():
            errors.append(EventError(i, "deal.id", "A deal id is required."))
        elif len(e.deal_external_id) > 100:
            errors.append(EventError(i, "deal.id", "Must be at most 100 characters."))
        if e.occurred_at.tzinfo is None or e.occurred_at.utcoffset() is None:
            errors.append(
                EventError(i, "occurred_at", "Give the time with its UTC offset, e.g. +00:00.")
            )
        elif e.occurred_at > latest_allowed:
            errors.append(
                EventError(
                    i,
                    "occurred_at",
                    f"{e.occurred_at.isoformat()} is in the future (more than 24 hours ahead).",
                )
            )
        if e.stage and e.outcome:
            errors.append(EventError(i, "stage", "Give either a stage or an outcome, not both."))
        elif not e.stage and not e.outcome:
            errors.append(EventError(i, "stage", "Give a stage slug or an outcome (won, lost)."))
        elif e.stage and e.stage not in context.stages:
            known = ", ".join(context.stages) or "none"
            errors.append(EventError(i, "stage", f"Unknown stage {e.stage!r}; known: {known}."))
        elif e.outcome and e.outcome not in Outcome.values:
            errors.append(
                EventError(i, "outcome", f"Unknown outcome {e.outcome!r}; use won or lost.")
            )
        if e.lost_reason and e.outcome != Outcome.LOST:
            errors.append(EventError(i, "lost_reason", "A lost reason goes with outcome lost."))
        if e.owner_email and e.owner_email.strip().lower() not in context.owners:
            errors.append(
                EventError(
                    i,
                    "deal.owner",
                    f"Unknown owner {e.owner_email!r}: not a rep or manager of this team.",
                )
            )
        if e.amount is not None and (
            not e.amount.is_finite() or e.amount < 0 or e.amount > MAX_AMOUNT
        ):
            errors.append(
                EventError(i, "deal.amount", "Amount must be a number from 0 to 999,999,999,999.")
            )
        for name, value, limit in (
            ("deal.account", e.account, 200),
            ("deal.department", e.department, 120),
            ("deal.source", e.source, 120),
            ("lost_reason", e.lost_reason, 200),
        ):
            if error := _text_error(i, name, value, limit):
                errors.append(error)
    return errors


def stage_events_ingest(
    *,
    team: Team,
    events: Sequence[EventIn],
    origin: str,
    by: AbstractBaseUser | None = None,
    now: dt.datetime | None = None,
    schedule_recompute: bool = True,
    max_batch: int = MAX_BATCH,
) -> IngestResult:
    """Validate a batch whole, then store its new events and refresh the deals they touch.

    Raises IngestRejected (nothing written) when any event is bad.
    """
    if origin not in Origin.values:
        raise ValueError(f"Unknown origin {origin!r}.")
    if len(events) > max_batch:
        raise IngestRejected([EventError(max_batch, "events", f"At most {max_batch} a batch.")])
    context = _team_context(team=team, events=events)
    errors = _validate(events, context, now or timezone.now())
    if errors:
        raise IngestRejected(errors)
    result = IngestResult()
    if not events:
        return result
    with transaction.atomic():
        deal_ids, created_ids, updated = _deals_upsert(team=team, events=events, context=context)
        result.deals_created, result.deals_updated = len(created_ids), updated
        inserted = _events_insert(
            team=team, events=events, deal_ids=deal_ids, context=context, origin=origin, by=by
        )
        result.accepted_ids = [event_id for _, event_id in inserted]
        result.accepted = len(inserted)
        result.duplicates = len(events) - result.accepted
        touched = {deal_id for deal_id, _ in inserted}
        if touched:
            deals_refresh_positions(
                team=team,
                deal_ids=touched,
                new_deal_logs=_new_deal_logs(events, inserted, created_ids, context),
            )
            if schedule_recompute:
                _recompute_on_commit(team)
    return result


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


def _recompute_on_commit(team: Team) -> None:
    from funnel.tasks import team_metrics_recompute_schedule

    team_id = team.id
    transaction.on_commit(lambda: team_metrics_recompute_schedule(team_id=team_id))


def deal_record_stage(
    *,
    deal: Deal,
    stage: Stage | None = None,
    outcome: str | None = None,
    lost_reason: str = "",
    occurred_at: dt.datetime | None = None,
    by: AbstractBaseUser,
) -> IngestResult:
    """A rep or manager moves a deal in the browser: one event with origin ui."""
    occurred_at = occurred_at or timezone.now()
    event = EventIn(
        event_id=f"ui-{deal.id}-{occurred_at.timestamp():.6f}",
        deal_external_id=deal.external_id,
        occurred_at=occurred_at,
        stage=stage.slug if stage else None,
        outcome=outcome,
        lost_reason=lost_reason if outcome == Outcome.LOST else "",
    )
    return stage_events_ingest(team=deal.team, events=[event], origin=Origin.UI, by=by)


__all__ = [
    "MAX_BATCH",
    "EventError",
    "EventIn",
    "IngestRejected",
    "IngestResult",
    "deal_record_stage",
    "deals_refresh_positions",
    "stage_events_ingest",
    "stage_events_validate",
]
