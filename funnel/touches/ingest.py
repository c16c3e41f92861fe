"""A batch of touches in: validated whole, written in one transaction, idempotent by touch id.

The same rules as the stage events (funnel.ingest): every problem is listed by index and field;
a batch with any bad touch writes nothing; an id already stored counts as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.bounds import BAD_OFFSET, TOO_EARLY, offset_out_of_range, text_problem, too_early
from funnel.ingest import FUTURE_TOLERANCE, MAX_BATCH, EventError, ids_repeated
from funnel.models import Channel, Deal, Tactic, Team, Touch
from funnel.pipeline.request import team_tactics_stale_on_commit

logger = logging.getLogger(__name__)

CHANNELS = frozenset(Channel.values)
TEXT_LIMITS = (("id", 120), ("prospect", 120), ("campaign", 200), ("content", 300))


@dataclass(slots=True)
class TouchIn:
    """One touch as a sender describes it; parsed, not yet validated."""

    touch_id: str
    tactic: str
    occurred_at: dt.datetime
    deal_external_id: str | None = None
    prospect: str | None = None
    channel: str | None = None
    campaign: str | None = None
    content: str | None = None
    responded: bool | None = None
    responded_at: dt.datetime | None = None


class TouchesRejected(Exception):
    """The batch has bad touches; nothing was written."""

    def __init__(self, errors: Sequence[EventError]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} invalid touch(es); nothing was written.")


@dataclass(frozen=True, slots=True)
class TouchesResult:
    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class _Context:
    tactics: dict[str, Tactic]
    deals: dict[str, int]  # external id -> id


def _context(*, team: Team, touches: Sequence[TouchIn]) -> _Context:
    tactics = {t.slug: t for t in Tactic.objects.filter(team=team, is_active=True)}
    # Ids PostgreSQL cannot even compare (a NUL) are left out here; validation names them.
    wanted = {t.deal_external_id for t in touches if t.deal_external_id}
    wanted = {w for w in wanted if text_problem(w) is None}
    deals = dict(
        Deal.objects.filter(team=team, external_id__in=wanted).values_list("external_id", "id")
    )
    return _Context(tactics=tactics, deals=deals)


def touches_validate(
    *, team: Team, touches: Sequence[TouchIn], now: dt.datetime | None = None
) -> list[EventError]:
    """Every problem in the batch, by touch index and field. Empty when the batch is good."""
    return _validate(touches, _context(team=team, touches=touches), now or timezone.now())


def _time_problem(value: dt.datetime, latest: dt.datetime) -> str | None:
    if value.tzinfo is None or value.utcoffset() is None:
        return "Give the time with its UTC offset, e.g. +00:00."
    if offset_out_of_range(value):
        return BAD_OFFSET
    if too_early(value):
        return f"{TOO_EARLY[:-1]} (UTC)."
    if value > latest:
        return f"{value.isoformat()} is in the future (more than 24 hours ahead)."
    return None


def _validate(touches: Sequence[TouchIn], context: _Context, now: dt.datetime) -> list[EventError]:
    errors: list[EventError] = []
    latest = now + FUTURE_TOLERANCE
    for i, t in enumerate(touches):
        texts = {
            "id": t.touch_id,
            "tactic": t.tactic,
            "deal": t.deal_external_id,
            "prospect": t.prospect,
            "channel": t.channel,
            "campaign": t.campaign,
            "content": t.content,
        }
        for name, text in texts.items():
            if text and (problem := text_problem(text)):
                errors.append(EventError(i, name, problem))
        for name, limit in TEXT_LIMITS:
            if texts[name] and len(texts[name]) > limit:
                errors.append(EventError(i, name, f"Must be at most {limit} characters."))
        if not (t.touch_id or "").strip():
            errors.append(EventError(i, "id", "A touch id is required."))
        if not t.tactic:
            errors.append(EventError(i, "tactic", "Give the tactic's slug."))
        elif t.tactic not in context.tactics:
            known = ", ".join(context.tactics) or "none"
            errors.append(EventError(i, "tactic", f"Unknown tactic {t.tactic!r}; known: {known}."))
        if t.channel and t.channel not in CHANNELS:
            known = ", ".join(Channel.values)
            errors.append(EventError(i, "channel", f"Unknown channel {t.channel!r}; use {known}."))
        if t.deal_external_id and t.deal_external_id not in context.deals:
            errors.append(
                EventError(
                    i,
                    "deal",
                    f"No deal {t.deal_external_id!r} in this team; send its "
                    "stage events first, or name the prospect instead.",
                )
            )
        elif not t.deal_external_id and not (t.prospect or "").strip():
            errors.append(EventError(i, "deal", "Give the deal's id or the prospect's id."))
        if problem := _time_problem(t.occurred_at, latest):
            errors.append(EventError(i, "occurred_at", problem))
        if t.responded_at is not None:
            if t.responded is not True:
                errors.append(EventError(i, "responded_at", "Goes with responded: true."))
            elif problem := _time_problem(t.responded_at, latest):
                errors.append(EventError(i, "responded_at", problem))
            elif t.responded_at < t.occurred_at:
                errors.append(EventError(i, "responded_at", "Is before the touch."))
    return errors


@transaction.atomic
def touches_ingest(
    *,
    team: Team,
    touches: Sequence[TouchIn],
    origin: str,
    by: AbstractBaseUser | None = None,
    now: dt.datetime | None = None,
    max_batch: int = MAX_BATCH,
) -> TouchesResult:
    """Validate the batch whole, then store the touches whose ids are new.

    Raises TouchesRejected (nothing written) when any touch is bad or an id repeats in it.
    """
    started = time.perf_counter()
    if len(touches) > max_batch:
        raise TouchesRejected([EventError(None, "touches", f"At most {max_batch} per batch.")])
    context = _context(team=team, touches=touches)
    errors = _validate(touches, context, now or timezone.now())
    errors += touches_repeated_ids(touches)
    if errors:
        raise TouchesRejected(errors)
    ids = [t.touch_id for t in touches]
    stored = set(
        Touch.objects.filter(team=team, touch_id__in=ids).values_list("touch_id", flat=True)
    )
    rows = [
        Touch(
            team=team,
            touch_id=t.touch_id,
            tactic=context.tactics[t.tactic],
            channel=t.channel or context.tactics[t.tactic].channel,
            deal_id=context.deals.get(t.deal_external_id or ""),
            prospect=(t.prospect or "").strip(),
            occurred_at=t.occurred_at,
            campaign=t.campaign or "",
            content=t.content or "",
            responded=t.responded,
            responded_at=t.responded_at,
            origin=origin,
            recorded_by=by,
        )
        for t in touches
        if t.touch_id not in stored
    ]
    # A concurrent replay may store an id between the look-up and the insert: skip it there.
    Touch.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if rows:
        team_tactics_stale_on_commit(team_id=team.id)
    logger.info(
        "touches ingested team=%s origin=%s accepted=%d duplicates=%d in %.3fs",
        team.slug,
        origin,
        len(rows),
        len(stored),
        time.perf_counter() - started,
    )
    return TouchesResult(accepted=len(rows), duplicates=len(stored))


def touches_repeated_ids(touches: Sequence[TouchIn]) -> list[EventError]:
    return ids_repeated(((i, t.touch_id) for i, t in enumerate(touches)), noun="touch")
