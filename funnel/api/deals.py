"""Read endpoints: the team's deals (paged, filtered) and one deal's history."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from pydantic import field_validator

from funnel.api.errors import query_only
from funnel.api.schemas import ANY_ERRORS, DealDetailOut, DealPageOut, ErrorOut
from funnel.api.selectors import deal_event_history, deal_get_for_team, deals_for_team
from funnel.bounds import (
    BAD_OFFSET,
    MAX_OFFSET,
    TOO_EARLY,
    offset_out_of_range,
    text_problem,
    too_early,
)

router = Router(tags=["deals"])

MAX_LIMIT = 500
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class DealFilters(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Page size, at most 500.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="At most 1,000,000,000.")
    status: Literal["open", "won", "lost"] | None = None
    stage: str | None = Field(None, description="Current stage slug.")
    owner: str | None = Field(None, description="Owner's email.")
    source: str | None = None
    updated_since: dt.datetime | None = Field(
        None, description="Only deals changed at or after this time (ISO 8601 with offset)."
    )

    @field_validator("updated_since", mode="before")
    @classmethod
    def _iso_text_only(cls, value):
        # pydantic would also read "0.5" as a Unix time; the contract is ISO 8601 text.
        if value is not None and not (isinstance(value, str) and ISO_TIME.match(value)):
            raise ValueError("Give an ISO 8601 date and time with its UTC offset, as text.")
        return value

    @field_validator("updated_since")
    @classmethod
    def _readable(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("Give the time with its UTC offset, e.g. +00:00.")
        if value is not None and offset_out_of_range(value):
            raise ValueError(BAD_OFFSET)
        if value is not None and too_early(value):
            raise ValueError(TOO_EARLY)
        return value

    @field_validator("stage", "owner", "source")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and (problem := text_problem(value)):
            raise ValueError(problem)
        return value


@router.get(
    "/deals",
    response={200: DealPageOut, 422: ErrorOut, **ANY_ERRORS},
    summary="The team's deals",
)
@decorate_view(query_only(DealFilters))
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
    response={200: DealDetailOut, 404: ErrorOut, 422: ErrorOut, **ANY_ERRORS},
    summary="One deal with its event history",
)
@decorate_view(query_only())
def deal_detail(request: HttpRequest, external_id: str):
    deal = deal_get_for_team(team=request.auth.team, external_id=external_id)
    deal.event_history = deal_event_history(deal=deal)
    return deal
