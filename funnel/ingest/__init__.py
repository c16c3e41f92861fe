"""Stage events in: the one service the API, the CSV import and the browser all write through.

A batch is validated whole before anything is written; a batch with any bad event writes nothing
and reports every problem by index and field. Event ids make ingestion idempotent: an id already
stored (also one stored a moment ago by a concurrent replay of the same batch) counts as a
duplicate, never twice. Each touched deal's cached position follows from its whole event log
(extended when the new events come after it, re-read when one arrives out of order), so events
arriving out of order give the same result as in order. The touched deals are marked pending;
the team's recompute derives their passages and flow counts (funnel.pipeline.passages).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from funnel.audit.context import history_context_pinned
from funnel.ingest.events import (
    DEAL_INSERT_FIELDS,
    FUTURE_TOLERANCE,
    MAX_AMOUNT,
    MAX_BATCH,
    EventError,
    EventIn,
    IngestRejected,
    IngestResult,
    _team_context,
    _validate,
    ids_repeated,
    stage_events_validate,
)
from funnel.ingest.writes import BatchWriter, DealsCreatedConcurrently
from funnel.models import Deal, Origin, Outcome, Stage, Team
from funnel.pipeline.request import team_recompute_on_commit

logger = logging.getLogger(__name__)

# A batch starts again when another created one of its new deals meanwhile (see BatchWriter);
# each attempt finds more of them stored, so a few are plenty.
WRITE_ATTEMPTS = 5


def stage_events_ingest(
    *,
    team: Team,
    events: Sequence[EventIn],
    origin: str,
    by: AbstractBaseUser | None = None,
    api_token_id: int | None = None,
    now: dt.datetime | None = None,
    schedule_recompute: bool = True,
    max_batch: int = MAX_BATCH,
) -> IngestResult:
    """Validate a batch whole, then store its new events and refresh the deals they touch.

    Raises IngestRejected (nothing written) when any event is bad.
    """
    started = time.perf_counter()
    if origin not in Origin.values:
        raise ValueError(f"Unknown origin {origin!r}.")
    if len(events) > max_batch:
        raise IngestRejected([EventError(max_batch, "events", f"At most {max_batch} a batch.")])
    context = _team_context(team=team, events=events)
    errors = _validate(events, context, now or timezone.now())
    if errors:
        logger.info(
            "ingest rejected team=%s origin=%s events=%d errors=%d in %.0f ms",
            team.slug,
            origin,
            len(events),
            len(errors),
            (time.perf_counter() - started) * 1000,
        )
        raise IngestRejected(errors)
    if not events:
        return IngestResult()
    copy = True
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            result = _batch_write(
                team=team,
                events=events,
                context=context,
                origin=origin,
                by=by,
                api_token_id=api_token_id,
                schedule_recompute=schedule_recompute,
                copy=copy,
            )
        except DealsCreatedConcurrently:
            # Rolled back, locks released; the deals exist now and are locked in id order with
            # the others on the next attempt.
            if attempt == WRITE_ATTEMPTS:
                raise
        except IntegrityError:
            # The COPY of new deals met one stored meanwhile by a concurrent batch:
            # rolled back; the set-based INSERT skips what is stored.
            if not copy:
                raise
            copy = False
        else:
            # One line a batch: what the API, the import (a line a chunk), the browser wrote.
            logger.info(
                "ingest team=%s origin=%s events=%d accepted=%d duplicates=%d "
                "deals_created=%d attempts=%d in %.0f ms",
                team.slug,
                origin,
                len(events),
                result.accepted,
                result.duplicates,
                result.deals_created,
                attempt,
                (time.perf_counter() - started) * 1000,
            )
            return result
    raise AssertionError("unreachable")


def _batch_write(
    *, team, events, context, origin, by, api_token_id, schedule_recompute: bool, copy: bool
) -> IngestResult:
    result = IngestResult()
    # The audit context is set once for the batch's plain-cursor statements (COPY, staged).
    with transaction.atomic(), history_context_pinned():
        writer = BatchWriter(team=team, events=events, context=context, copy=copy)
        writer.deals_lock_upsert()
        inserted = writer.events_insert(origin=origin, by=by, api_token_id=api_token_id)
        result.deals_created = len(writer.created)
        result.created_deals = {
            ext: deal["id"] for ext, deal in writer.deals.items() if deal["id"] in writer.created
        }
        result.accepted_ids = [event_id for _, event_id in inserted]
        result.accepted = len(inserted)
        result.duplicates = len(events) - result.accepted
        touched = writer.positions_apply(inserted)
        result.deals_updated = len(writer.retitled)
        if touched:
            writer.pending_mark(touched)
            if schedule_recompute:
                team_recompute_on_commit(team_id=team.id)
    return result


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
    "DEAL_INSERT_FIELDS",
    "FUTURE_TOLERANCE",
    "MAX_AMOUNT",
    "MAX_BATCH",
    "EventError",
    "EventIn",
    "IngestRejected",
    "IngestResult",
    "ids_repeated",
    "deal_record_stage",
    "stage_events_ingest",
    "stage_events_validate",
]
