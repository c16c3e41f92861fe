"""POST /events: a batch of stage events from a CRM."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import TypeAdapter

from funnel.api.errors import batch_parse, body_limited, invalid_response, query_only
from funnel.api.schemas import (
    ANY_ERRORS,
    BODY_ERRORS,
    EventBatchIn,
    EventBatchOut,
    EventItem,
)
from funnel.ingest import (
    EventError,
    EventIn,
    IngestRejected,
    ids_repeated,
    stage_events_ingest,
    stage_events_validate,
)
from funnel.models import Origin

router = Router(tags=["events"])

_events_adapter = TypeAdapter(list[EventItem])


@router.post(
    "/events",
    response={200: EventBatchOut, **BODY_ERRORS, **ANY_ERRORS},
    summary="Record a batch of stage events",
    description=(
        "Up to 1,000 events. Idempotent per event id: an id already stored counts as a "
        "duplicate; an id repeated within the batch is refused. A batch with any invalid "
        "event writes nothing; the 422 answer lists every problem by event index and field. "
        "Bodies over the documented size limit get 413."
    ),
)
@decorate_view(body_limited, query_only())
def events_post(request: HttpRequest, payload: EventBatchIn):
    team = request.auth.team
    items, errors = batch_parse(payload.events, _events_adapter, EventItem, _event_in)
    # Sent twice for two deals, an id would create a deal with no event.
    errors += ids_repeated(((i, e.event_id) for i, e in items.items()), noun="event")
    if errors:
        # Report the domain problems of the events that parsed too, so one answer lists all.
        indexed = list(items.items())
        domain = stage_events_validate(team=team, events=[event for _, event in indexed])
        errors += [EventError(indexed[e.index][0], e.field, e.message) for e in domain]
        return invalid_response(errors)
    try:
        result = stage_events_ingest(
            team=team,
            events=list(items.values()),
            origin=Origin.API,
            api_token_id=request.auth.id,
        )
    except IngestRejected as rejected:
        return invalid_response(rejected.errors)
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "deals_created": result.deals_created,
    }


def _event_in(item: EventItem) -> EventIn:
    deal = item.deal
    return EventIn(
        event_id=item.id,
        deal_external_id=deal.id,
        occurred_at=item.occurred_at,
        stage=item.stage,
        outcome=item.outcome,
        lost_reason=item.lost_reason or "",
        owner_email=deal.owner,
        account=deal.account,
        department=deal.department,
        source=deal.source,
        amount=deal.amount,
    )
