"""What a checked file becomes: the team's facts it is checked against, the events,
observations and row errors it yields, and the ids that make a re-import add nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.utils.text import slugify

from funnel.imports.mapping import StageRef
from funnel.ingest import EventIn

DATE_FORMAT_LABELS = {"iso": "YYYY-MM-DD", "dmy": "day/month/year", "mdy": "month/day/year"}
YES_WORDS = {"yes", "y", "true", "1", "ja", "oui", "si"}
NO_WORDS = {"no", "n", "false", "0", "nein", "non"}


@dataclass(frozen=True, slots=True)
class CharacteristicFacts:
    slug: str
    name: str
    kind: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TeamFacts:
    """What the conversion needs to know about the team, as plain values."""

    stages: tuple[StageRef, ...]
    characteristics: dict[str, CharacteristicFacts]
    owners: dict[str, str]  # lower-cased email and full name -> the member's email
    now: dt.datetime
    tz: dt.tzinfo


@dataclass(slots=True)  # not frozen, as EventIn: built once a cell, three times as fast
class ObservationIn:
    deal_external_id: str
    characteristic: str  # slug
    value: str
    value_number: float | None
    observed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


# (spreadsheet row number, its events, its observations)
PlanRow = tuple[int, list[EventIn], list[ObservationIn]]


@dataclass(slots=True)
class ImportPlan:
    rows: list[PlanRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    owners_to_create: dict[str, str] = field(default_factory=dict)  # full name -> email
    new_characteristics: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    skipped_rows: int = 0

    @property
    def event_count(self) -> int:
        return sum(len(events) for _, events, _ in self.rows)

    @property
    def observation_count(self) -> int:
        return sum(len(obs) for _, _, obs in self.rows)


_ISO: dict[dt.datetime, str] = {}


def event_id_for(deal: str, what: str, occurred_at: dt.datetime) -> str:
    # An export repeats a few hundred distinct dates; format each once.
    iso = _ISO.get(occurred_at)
    if iso is None:
        if len(_ISO) > 100_000:
            _ISO.clear()
        # In UTC: the same instant gives the same id however the file wrote its offset.
        iso = _ISO[occurred_at] = occurred_at.astimezone(dt.UTC).isoformat()
    event_id = f"csv:{deal}:{what}:{iso}"
    if len(event_id) > 120:
        event_id = "csv:" + hashlib.sha256(event_id.encode()).hexdigest()[:48]
    return event_id


def imported_owner_email(name: str) -> str:
    local = ".".join(slugify(part) for part in name.split() if slugify(part)) or "owner"
    return f"{local}@imported.invalid"
