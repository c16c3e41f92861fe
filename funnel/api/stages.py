"""GET and PUT /stages: the team's stage list in funnel order, read and replaced."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from ninja import Router, Status
from ninja.decorators import decorate_view

from funnel.api.errors import body_limited, invalid_response, query_only
from funnel.api.schemas import ANY_ERRORS, BODY_ERRORS, ErrorOut, StageIn, StageOut, StagesPutOut
from funnel.api.selectors import stages_for_team
from funnel.ingest import EventError
from funnel.stages.load import StageListError, stages_replace

router = Router(tags=["stages"])


@router.get(
    "/stages",
    response={200: list[StageOut], 422: ErrorOut, **ANY_ERRORS},
    summary="The team's stages in funnel order",
    description="The stages that take events (retired and merged ones are left out), in the "
    "order and format PUT /stages takes: sending this answer back changes nothing.",
)
@decorate_view(query_only())
def stages_list(request: HttpRequest):
    return list(stages_for_team(team=request.auth.team))


@router.put(
    "/stages",
    response={200: StagesPutOut, 403: ErrorOut, **BODY_ERRORS, **ANY_ERRORS},
    summary="Replace the team's stage list",
    description=(
        "The body is the whole list in funnel order. Listed stages are added or updated (the "
        "slug is the key: a new name is a rename, history unchanged) and put in this order; a "
        "listed retired stage comes back into use. A stage left out is retired, kept for its "
        "history (its events keep counting in past weeks; it takes no new events), or deleted "
        "when nothing ever referred to it. Sending the list the team has writes nothing "
        "(`changed`: false). Any invalid item gets 422 with every problem by item `index` and "
        "`field`, and nothing changes. Needs a token that may manage the team (403 otherwise). "
        "A change rebuilds the team's figures from its event log in the background."
    ),
)
@decorate_view(body_limited, query_only())
def stages_put(request: HttpRequest, payload: list[StageIn]):
    token = request.auth
    if not token.can_manage:
        return Status(
            403,
            {
                "detail": "This token may read but not manage the team; create one with "
                "`manage.py create_api_token --team SLUG NAME --manage`."
            },
        )
    data = [item.model_dump(exclude={"position"}) for item in payload]
    try:
        result = stages_replace(team=token.team, data=data, by=None)
    except StageListError as exc:
        errors = [EventError(e.index, e.field, e.message) for e in exc.errors]
        return invalid_response(
            errors, detail=f"{len({e.index for e in errors})} invalid stage(s); nothing changed."
        )
    return JsonResponse(
        StagesPutOut(
            changed=result.changed,
            detail=result.summary(),
            created=result.created,
            updated=result.updated,
            restored=result.restored,
            retired=result.retired,
            deleted=result.deleted,
            reordered=result.reordered,
            stages=[StageOut.from_orm(s) for s in stages_for_team(team=token.team)],
        ).model_dump(mode="json")
    )
