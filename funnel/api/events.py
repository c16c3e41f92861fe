"""POST /events: a batch of stage events from a CRM."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from funnel.api.errors import body_limited, invalid_response, query_only, schema_errors
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
    items, errors = _events_parse(payload.events)
    errors += _repeated_ids(items)
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


def _events_parse(raw: list) -> tuple[dict[int, EventIn], list[EventError]]:
    """The events that parse, by batch index, and the schema errors of those that do not."""
    try:
        parsed = _events_adapter.validate_python(raw)
        return {i: _event_in(item) for i, item in enumerate(parsed)}, []
    except PydanticValidationError as invalid:
        errors = schema_errors(invalid.errors())
    bad = {e.index for e in errors}
    good = {i: _event_in(EventItem.model_validate(raw[i])) for i in range(len(raw)) if i not in bad}
    return good, errors


def _repeated_ids(items: dict[int, EventIn]) -> list[EventError]:
    """An id sent twice in one batch is refused (a retry of a whole batch is fine: ids already
    stored count as duplicates). Sent twice for two deals, it would create a deal with no event."""
    first: dict[str, int] = {}
    errors = []
    for index, event in items.items():
        seen = first.setdefault(event.event_id, index)
        if seen != index:
            errors.append(EventError(index, "id", f"Repeats the id of event {seen} in this batch."))
    return errors


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
