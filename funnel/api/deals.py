"""Read endpoints: the team's deals (paged, filtered) and one deal's history."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from funnel.api.schemas import DealDetailOut, DealPageOut, ErrorOut
from funnel.api.selectors import deal_event_history, deal_get_for_team, deals_for_team

router = Router(tags=["deals"])

MAX_LIMIT = 500


class DealFilters(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Page size, at most 500.")
    offset: int = Field(0, ge=0)
    status: Literal["open", "won", "lost"] | None = None
    stage: str | None = Field(None, description="Current stage slug.")
    owner: str | None = Field(None, description="Owner's email.")
    source: str | None = None
    updated_since: dt.datetime | None = Field(
        None, description="Only deals changed at or after this time (ISO 8601 with offset)."
    )


@router.get("/deals", response={200: DealPageOut, 422: ErrorOut}, summary="The team's deals")
def deals_list(request: HttpRequest, filters: Query[DealFilters]):
    deals = deals_for_team(
        team=request.auth.team,
        status=filters.status,
        stage=filters.stage,
        owner=filters.owner,
        source=filters.source,
        updated_since=filters.updated_since,
    )
    page = list(deals[filters.offset : filters.offset + filters.limit])
    count = deals.count()
    return {"count": count, "limit": filters.limit, "offset": filters.offset, "results": page}


@router.get(
    "/deals/{external_id}",
    response={200: DealDetailOut, 404: ErrorOut},
    summary="One deal with its event history",
)
def deal_detail(request: HttpRequest, external_id: str):
    deal = deal_get_for_team(team=request.auth.team, external_id=external_id)
    deal.event_history = deal_event_history(deal=deal)
    return deal
