"""The shapes of POST /touches (they are also its OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, PlainValidator, field_validator

from funnel.ingest import MAX_BATCH
from funnel.models import Channel


def _iso_text(value: Any) -> Any:
    # pydantic would also take a number as a Unix time; the contract is ISO 8601 text.
    if value is not None and not isinstance(value, str):
        raise ValueError("Give an ISO 8601 date and time with its UTC offset, as text.")
    return value


class TouchItem(BaseModel):
    """One touch: the team did something to a deal's prospect (or to a prospect with no deal
    yet), and maybe the prospect answered."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        json_schema_extra={"minLength": 1, "maxLength": 120},
        description="Your id of the touch; a repeated id is counted once.",
    )
    tactic: str = Field(description="The tactic's slug (e.g. call, email).", examples=["call"])
    deal: str | None = Field(
        None, json_schema_extra={"maxLength": 100}, description="The CRM's id of the deal."
    )
    prospect: str | None = Field(
        None,
        json_schema_extra={"maxLength": 120},
        description="The prospect's id, for a touch with no deal.",
    )
    channel: Literal[tuple(Channel.values)] | None = Field(  # type: ignore[valid-type]
        None, description="Default: the tactic's channel."
    )
    occurred_at: dt.datetime = Field(
        description="ISO 8601 with its UTC offset.", examples=["2026-03-02T09:00:00+01:00"]
    )
    campaign: str | None = Field(None, json_schema_extra={"maxLength": 200})
    content: str | None = Field(None, json_schema_extra={"maxLength": 300})
    responded: bool | None = Field(
        None,
        description="Whether the prospect answered, by the team's definition for the tactic; "
        "leave out when not known (the tactic's rule may derive it).",
    )
    responded_at: dt.datetime | None = Field(None, description="Only with responded: true.")

    @field_validator("occurred_at", "responded_at", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        return _iso_text(value)


def _unchecked(value: Any) -> Any:
    return value


# Checked touch by touch in the view, so that schema and domain errors come back together.
RawTouch = Annotated[Any, PlainValidator(_unchecked, json_schema_input_type=TouchItem)]


class TouchBatchIn(Schema):
    touches: list[RawTouch] = Field(max_length=MAX_BATCH, description="At most 1,000 touches.")


class TouchBatchOut(Schema):
    accepted: int = Field(description="Touches stored now.")
    duplicates: int = Field(description="Touches whose id was already stored; ignored.")
