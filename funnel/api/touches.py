"""POST /touches: a batch of touches (calls, e-mails, meetings ...) and their answers."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import TypeAdapter

from funnel.api.errors import batch_parse, body_limited, invalid_response, query_only
from funnel.api.schemas import ANY_ERRORS, BODY_ERRORS
from funnel.api.touch_schemas import TouchBatchIn, TouchBatchOut, TouchItem
from funnel.ingest import EventError
from funnel.models import Origin
from funnel.touches.ingest import (
    TouchesRejected,
    TouchIn,
    touches_ingest,
    touches_repeated_ids,
    touches_validate,
)

router = Router(tags=["touches"])

_touches_adapter = TypeAdapter(list[TouchItem])


@router.post(
    "/touches",
    response={200: TouchBatchOut, **BODY_ERRORS, **ANY_ERRORS},
    summary="Record a batch of touches",
    description=(
        "Up to 1,000 touches. Idempotent per touch id: an id already stored counts as a "
        "duplicate; an id repeated within the batch is refused. A batch with any invalid touch "
        "writes nothing; the 422 answer lists every problem by touch index and field. A touch "
        "names a deal the team has (send its stage events first) or a prospect id. Bodies over "
        "the documented size limit get 413."
    ),
)
@decorate_view(body_limited, query_only())
def touches_post(request: HttpRequest, payload: TouchBatchIn):
    team = request.auth.team
    items, errors = batch_parse(payload.touches, _touches_adapter, TouchItem, _touch_in)
    if errors:
        indexed = list(items.items())
        touches = [touch for _, touch in indexed]
        domain = touches_validate(team=team, touches=touches) + touches_repeated_ids(touches)
        errors += [EventError(indexed[e.index][0], e.field, e.message) for e in domain]
        return _invalid(errors)
    try:
        result = touches_ingest(team=team, touches=list(items.values()), origin=Origin.API)
    except TouchesRejected as rejected:
        return _invalid(rejected.errors)
    return {"accepted": result.accepted, "duplicates": result.duplicates}


def _invalid(errors: list[EventError]):
    bad = len({e.index for e in errors if e.index is not None})
    return invalid_response(errors, detail=f"{bad} invalid touch(es); nothing was written.")


def _touch_in(item: TouchItem) -> TouchIn:
    return TouchIn(
        touch_id=item.id,
        tactic=item.tactic,
        occurred_at=item.occurred_at,
        deal_external_id=item.deal,
        prospect=item.prospect,
        channel=item.channel,
        campaign=item.campaign,
        content=item.content,
        responded=item.responded,
        responded_at=item.responded_at,
    )
