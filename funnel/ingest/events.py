"""Stage events as senders describe them, and the validation of a whole batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from operator import attrgetter, not_

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from funnel.bounds import (
    BAD_OFFSET,
    EARLIEST,
    MAX_OFFSET_HOURS,
    TOO_EARLY,
    offset_out_of_range,
    storable,
    text_problem,
    too_early,
)
from funnel.models import Membership, Outcome, Role, Stage, Team

MAX_BATCH = 1000
OUTCOMES = frozenset(Outcome.values)  # the enum's .values builds a new list on every call
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
    "last_event_at",
)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building an import's events cost three times as much (3 µs an event). Treat it as a value.
@dataclass(slots=True)
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


def ids_repeated(ids: Iterable[tuple[int, str]], *, noun: str) -> list[EventError]:
    """An id sent twice in one batch, by (batch index, id): refused at its second place (a
    retry of a whole batch is fine: ids already stored count as duplicates)."""
    first: dict[str, int] = {}
    errors = []
    for index, item_id in ids:
        seen = first.setdefault(item_id, index)
        if seen != index:
            errors.append(
                EventError(index, "id", f"Repeats the id of {noun} {seen} in this batch.")
            )
    return errors


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
    created_deals: dict[str, int] = field(default_factory=dict)  # external id -> id

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "deals_created": self.deals_created,
            "deals_updated": self.deals_updated,
        }


@dataclass(frozen=True, slots=True)
class _Context:
    stages: dict[str, int]  # slug -> id
    owners: dict[str, int]
    positions: dict[int, int]  # stage id -> its position in the funnel
    retired: frozenset[str] = frozenset()  # slugs of retired stages


def _team_context(*, team: Team, events: Sequence[EventIn]) -> _Context:
    rows = _stage_rows(team.id)
    # A retired stage takes no new events; a merged one's slug is written as the stage it
    # was merged into (a CRM may still send the old label).
    active = {
        slug: stage_id for slug, stage_id, _, retired, into in rows if not retired and not into
    }
    stages = {**active, **{slug: active[into] for slug, *_, into in rows if into in active}}
    retired = frozenset(slug for slug, _, _, at, into in rows if at is not None and not into)
    positions = {stage_id: position for _, stage_id, position, *_ in rows}
    # An address PostgreSQL cannot even compare (a NUL) is left out; validation names it.
    emails = {e.owner_email.strip().lower() for e in events if e.owner_email}
    emails = {email for email in emails if text_problem(email) is None}
    owners = _owner_ids(team.id, sorted(emails)) if emails else {}
    return _Context(stages=stages, owners=owners, positions=positions, retired=retired)


# Plain SQL, not the ORM: the two statements run for every batch, and building them through
# querysets cost more Python than the database took to answer them.
def _stage_rows(team_id: int) -> list[tuple]:
    """(slug, id, position, retired_at, slug merged into) of the team's stages."""
    stage = Stage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.slug, s.id, s.position, s.retired_at, m.slug FROM {stage} s "
            f"LEFT JOIN {stage} m ON m.id = s.merged_into_id WHERE s.team_id = %s "
            "ORDER BY s.position",
            [team_id],
        )
        return cursor.fetchall()


def _owner_ids(team_id: int, emails: list[str]) -> dict[str, int]:
    """Email -> user id of the team's reps and managers with these addresses."""
    membership, user = Membership._meta.db_table, get_user_model()._meta.db_table
    marks = ", ".join(["%s"] * len(emails))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.email, m.user_id FROM {membership} m JOIN {user} u ON u.id = m.user_id "
            f"WHERE m.team_id = %s AND m.role IN (%s, %s) AND u.email IN ({marks})",
            [team_id, Role.REP.value, Role.MANAGER.value, *emails],
        )
        return dict(cursor.fetchall())


def _too_long(index: int, name: str, limit: int) -> EventError:
    return EventError(index, name, f"Must be at most {limit} characters.")


def stage_events_validate(
    *, team: Team, events: Sequence[EventIn], now: dt.datetime | None = None
) -> list[EventError]:
    """Every problem in the batch, by event index and field. Empty when the batch is good."""
    context = _team_context(team=team, events=events)
    return _validate(events, context, now or timezone.now())


_COLUMNS = attrgetter(
    "event_id",
    "deal_external_id",
    "occurred_at",
    "stage",
    "outcome",
    "lost_reason",
    "owner_email",
    "account",
    "department",
    "source",
    "amount",
)
_MAX_OFFSET = dt.timedelta(hours=MAX_OFFSET_HOURS)


def _longest(texts: Iterable[str | None]) -> int:
    return max(map(len, filter(None, texts)), default=0)


def _all_good(events: Sequence[EventIn], context: _Context, latest_allowed: dt.datetime) -> bool:
    """True when no event of the batch breaks any rule of _validate, checked a column at a time
    (C loops over the batch's columns instead of a Python pass of some twenty tests an event).
    False says only that some event may be bad: _validate then names every problem."""
    if not events:
        return True
    try:
        (ids, deals, times, stages, outcomes, reasons, owners, *texts, amounts) = zip(
            *map(_COLUMNS, events), strict=True
        )
        accounts, departments, sources = texts
        if not storable(
            "\n".join(filter(None, chain(ids, deals, stages, owners, reasons, *texts)))
        ):
            return False
        if not (all(ids) and all(map(str.strip, ids)) and _longest(ids) <= 120):
            return False
        if not (all(deals) and all(map(str.strip, deals)) and _longest(deals) <= 100):
            return False
        offsets = list(map(dt.datetime.utcoffset, times))
        if None in offsets or max(offsets) > _MAX_OFFSET or min(offsets) < -_MAX_OFFSET:
            return False
        if min(times) < EARLIEST or max(times) > latest_allowed:
            return False
        # Exactly one of stage and outcome an event; the stages known and not retired.
        if list(map(bool, stages)) != list(map(not_, outcomes)):
            return False
        slugs = set(filter(None, stages))
        if not (slugs <= context.stages.keys() and slugs.isdisjoint(context.retired)):
            return False
        if not set(filter(None, outcomes)) <= OUTCOMES:
            return False
        if any(reasons) and any(
            r and o != Outcome.LOST for r, o in zip(reasons, outcomes, strict=True)
        ):
            return False
        emails = {email.strip().lower() for email in set(filter(None, owners))}
        if not emails <= context.owners.keys():
            return False
        given = [amount for amount in amounts if amount is not None]
        if given and not (
            all(map(Decimal.is_finite, given)) and min(given) >= 0 and max(given) <= MAX_AMOUNT
        ):
            return False
        return (
            _longest(accounts) <= 200
            and _longest(departments) <= 120
            and _longest(sources) <= 120
            and _longest(reasons) <= 200
        )
    except (TypeError, AttributeError, ValueError):
        return False  # a value of an unexpected type: the event-by-event pass says which


def _validate(events: Sequence[EventIn], context: _Context, now: dt.datetime) -> list[EventError]:
    errors: list[EventError] = []
    latest_allowed = now + FUTURE_TOLERANCE
    if _all_good(events, context, latest_allowed):
        return errors
    for i, e in enumerate(events):
        texts = (
            ("id", e.event_id),
            ("deal.id", e.deal_external_id),
            ("stage", e.stage),
            ("deal.owner", e.owner_email),
            ("deal.account", e.account),
            ("deal.department", e.department),
            ("deal.source", e.source),
            ("lost_reason", e.lost_reason),
        )
        # One search over the event's texts; only a bad event is searched field by field.
        if text_problem("\n".join(text for _, text in texts if text)):
            for name, text in texts:
                if text and (problem := text_problem(text)):
                    errors.append(EventError(i, name, problem))
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
        elif offset_out_of_range(e.occurred_at):
            errors.append(EventError(i, "occurred_at", BAD_OFFSET))
        elif too_early(e.occurred_at):
            errors.append(EventError(i, "occurred_at", f"{TOO_EARLY[:-1]} (UTC)."))
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
        elif e.stage and e.stage in context.retired:
            errors.append(
                EventError(i, "stage", f"Stage {e.stage!r} is retired and takes no new events.")
            )
        elif e.stage and e.stage not in context.stages:
            known = ", ".join(context.stages) or "none"
            errors.append(EventError(i, "stage", f"Unknown stage {e.stage!r}; known: {known}."))
        elif e.outcome and e.outcome not in OUTCOMES:
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
        # Spelled out rather than looped over: this runs for every event of every batch.
        if e.account is not None and len(e.account) > 200:
            errors.append(_too_long(i, "deal.account", 200))
        if e.department is not None and len(e.department) > 120:
            errors.append(_too_long(i, "deal.department", 120))
        if e.source is not None and len(e.source) > 120:
            errors.append(_too_long(i, "deal.source", 120))
        if e.lost_reason is not None and len(e.lost_reason) > 200:
            errors.append(_too_long(i, "lost_reason", 200))
    return errors
