"""The API's request and response shapes (they are also its OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, PlainValidator, field_validator

from funnel.ingest import MAX_BATCH


# Input models are plain pydantic: ninja's Schema validates through a Python hook per object,
# which made a 1,000-event batch ten times slower to check.
class DealIn(BaseModel):
    """The deal an event belongs to. Attributes are applied on first sight and whenever sent."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        json_schema_extra={"minLength": 1, "maxLength": 100},
        description="The CRM's id of the deal.",
        examples=["HS-4711"],
    )
    owner: str | None = Field(
        None,
        json_schema_extra={"maxLength": 254},
        description="Owner's email: a rep or manager of the team.",
    )
    account: str | None = Field(None, json_schema_extra={"maxLength": 200}, examples=["Acme Corp"])
    department: str | None = Field(
        None, json_schema_extra={"maxLength": 120}, description="The prospect's department."
    )
    source: str | None = Field(
        None, json_schema_extra={"maxLength": 120}, description="Lead-generation tactic."
    )
    amount: Decimal | None = Field(
        None,
        json_schema_extra={"minimum": 0, "maximum": 999_999_999_999},
        description="Deal value, 0 to 999,999,999,999.",
    )


class EventItem(BaseModel):
    """One stage event: the deal entered a stage, or was won or lost."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        json_schema_extra={"minLength": 1, "maxLength": 120},
        description="Your id of the event; a repeated id is counted once.",
    )
    deal: DealIn
    stage: str | None = Field(None, description="Stage slug (see GET /stages); or give outcome.")
    outcome: Literal["won", "lost"] | None = None
    lost_reason: str | None = Field(
        None, json_schema_extra={"maxLength": 200}, description="Only with outcome lost."
    )
    occurred_at: dt.datetime = Field(
        description="ISO 8601 with its UTC offset, e.g. 2026-03-02T09:00:00+01:00.",
        examples=["2026-03-02T09:00:00+01:00"],
    )

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        # pydantic would also take a number as a Unix time; the contract is ISO 8601 text.
        if not isinstance(value, str):
            raise ValueError("Give an ISO 8601 date and time with its UTC offset, as text.")
        return value


def _unchecked(value: Any) -> Any:
    return value


# The batch is checked event by event in the view, so that schema errors and domain errors
# (unknown stage, unknown owner, ...) of all events come back together. The annotation keeps
# the documented schema of an event while letting each one through unchecked here.
RawEvent = Annotated[Any, PlainValidator(_unchecked, json_schema_input_type=EventItem)]


class EventBatchIn(Schema):
    events: list[RawEvent] = Field(max_length=MAX_BATCH, description="At most 1,000 events.")


class EventBatchOut(Schema):
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events whose id was already stored; ignored.")
    deals_created: int


class ErrorItem(Schema):
    index: int | None = Field(description="Position of the event in the batch (0-based).")
    field: str = Field(examples=["deal.amount"])
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] = []


# What any operation may answer besides its own: no or a bad token (401), over a rate limit
# (429, with Retry-After), the database unavailable for a moment (503, with Retry-After).
# Merged into every operation's responses, so the schema lists them.
ANY_ERRORS = {401: ErrorOut, 429: ErrorOut, 503: ErrorOut}
# Operations that take a JSON body also answer 400 when the body is not JSON at all.
BODY_ERRORS = {400: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class StageOut(Schema):
    slug: str
    name: str
    station: str = Field(description="market, marketing, qualifying, selling or servicing.")
    position: int = Field(description="Order in the funnel, 1 first.")
    target_conversion: Decimal | None = Field(
        description="Target share of decided deals that advance (0-1], or null."
    )
    target_days: int | None = Field(description="Target days in the stage, or null.")


class StageIn(Schema):
    """One stage of a list in funnel order. `position`, if sent (GET's answer), is ignored:
    the list's order is the funnel's."""

    slug: str = Field(description="Lower-case letters, digits, hyphens; kept across renames.")
    name: str
    station: str = Field(description="market, marketing, qualifying, selling or servicing.")
    target_conversion: float | str | None = Field(None, description="(0-1], or null.")
    target_days: int | None = Field(None, description="1-365, or null.")
    position: int | None = Field(None, description="Ignored.")


class StagesPutOut(Schema):
    changed: bool = Field(description="False when the team had this list already.")
    detail: str
    created: list[str]
    updated: list[str]
    restored: list[str]
    retired: list[str]
    deleted: list[str]
    reordered: bool
    stages: list[StageOut]


class DealOut(Schema):
    id: str = Field(description="The CRM's id of the deal.")
    owner: str | None = Field(description="Owner's email.")
    account: str
    department: str
    source: str
    amount: Decimal | None
    status: Literal["open", "won", "lost"]
    lost_reason: str
    stage: str | None = Field(description="Current stage slug (the stage it closed in, if closed).")
    stage_entered_at: dt.datetime | None
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_id(deal) -> str:
        return deal.external_id

    @staticmethod
    def resolve_owner(deal) -> str | None:
        return deal.owner.email if deal.owner_id else None

    @staticmethod
    def resolve_stage(deal) -> str | None:
        return deal.current_stage.slug if deal.current_stage_id else None


class DealEventOut(Schema):
    id: str = Field(description="The sender's event id.")
    stage: str | None
    outcome: Literal["won", "lost"] | None
    lost_reason: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    origin: str

    @staticmethod
    def resolve_id(event) -> str:
        return event.event_id

    @staticmethod
    def resolve_stage(event) -> str | None:
        return event.stage.slug if event.stage_id else None

    @staticmethod
    def resolve_outcome(event) -> str | None:
        return event.outcome or None


class DealDetailOut(DealOut):
    events: list[DealEventOut] = Field(description="Ordered by occurred_at, then arrival.")

    @staticmethod
    def resolve_events(deal) -> list:
        return deal.event_history  # loaded by the view in one query


class DealPageOut(Schema):
    count: int = Field(description="Deals matching the filters, all pages.")
    limit: int
    offset: int
    results: list[DealOut]
