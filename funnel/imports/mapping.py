"""Column mappings: what each column of an export means, guessed from its header.

A mapping is plain JSON, so that it can be saved for next time and shipped as a file for
`manage.py import_csv`:

    {"shape": "deals" | "events",
     "date_format": "iso" | "dmy" | "mdy",
     "columns": {"<header>": "<target>", ...},
     "stage_values": {"<the CRM's stage label>": "<stage slug>" | "won" | "lost"},
     "create_missing_owners": false,
     "default_date": "",          # ISO date for rows that carry no date at all (open deals)
     "on_repeated_deal": "error", # or "first": keep the first row of a repeated deal id
     "decimal_comma": false}

Targets: ignore, deal_id, event_id, occurred_at, stage (a stage or an outcome, by value),
outcome (a status column: won, lost or open), lost_reason, owner, account, amount, source,
department, created_at, closed_at, won_at, lost_at, entered:<stage slug>,
characteristic:<slug>, new_characteristic.

Optional keys: "preset" (the export shape recognised, for the record) and "owner_names"
({"<owner id>": "<full name>"}, from an owner export; an id without a name becomes the owner
"Owner <id>").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from funnel.imports.parsing import date_format_guess
from funnel.imports.synonyms import HEADER_TARGETS, LOST_WORDS, STAGE_SYNONYMS, WON_WORDS
from funnel.imports.values import (
    AMOUNT,
    DATE,
    EMPTY,
    ID,
    LABEL,
    NUMBER,
    TEXT,
    system_field,
    value_kind,
)

SHAPES = ("deals", "events")
DEAL_ATTRIBUTES = ("owner", "account", "amount", "source", "department")
SIMPLE_TARGETS: dict[str, str] = {
    "ignore": "Ignore this column",
    "deal_id": "Deal id",
    "event_id": "Event id (one row per event)",
    "occurred_at": "Event time (one row per event)",
    "stage": "Stage or outcome",
    "outcome": "Status: won, lost or open",
    "lost_reason": "Lost reason",
    "owner": "Owner (email or full name)",
    "account": "Account",
    "amount": "Amount",
    "source": "Source",
    "department": "Prospect department",
    "created_at": "Created date",
    "closed_at": "Closed date",
    "won_at": "Won date",
    "lost_at": "Lost date",
    "new_characteristic": "New characteristic (one choice per value)",
}
SINGLE_USE = {"deal_id", "event_id", "occurred_at", "stage", "lost_reason", "created_at"}
SINGLE_USE |= {"closed_at", "outcome", "won_at", "lost_at", *DEAL_ATTRIBUTES}


@dataclass(frozen=True, slots=True)
class StageRef:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class CharacteristicRef:
    slug: str
    name: str


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def header_key(text: str) -> str:
    """A header as words: 'CreatedDate' and 'Created Date' -> 'created date', 'OppID' -> 'opp
    id', 'DeliveryStatus__c' -> 'delivery status c', 'Deal - Won time' -> 'won time'."""
    text = re.sub(r"^\s*deal\s+-\s+", "", text, flags=re.I)  # Pipedrive's 'Deal - ' prefix
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return normalise(text)


_ENTERED = re.compile(r"^(?:date entered |entered |date )?(.+?)(?: date| at| on)?$")


def stage_value_guess(value: str, stages: Sequence[StageRef]) -> str:
    """Our stage slug (or won/lost) for one of the CRM's stage labels; '' when unsure."""
    key = normalise(header_key(value))
    words = set(key.split())
    if key in WON_WORDS or (words & {"won", "win"} and not words & {"lost", "not"}):
        return "won"
    if key in LOST_WORDS or words & {"lost", "loss"}:
        return "lost"
    # The team's own name for a stage wins over another stage's synonym: a team that added
    # "Contract sent" after Negotiation means it, not Negotiation.
    for stage in stages:
        if key in {stage.slug, normalise(stage.name)}:
            return stage.slug
    for stage in stages:
        if key in STAGE_SYNONYMS.get(stage.slug, ()):
            return stage.slug
    # A label close to a stage's name: 'Qualifed', 'Proposals'.
    best = max(
        stages,
        key=lambda s: SequenceMatcher(None, key, normalise(s.name)).ratio(),
        default=None,
    )
    if best is not None and SequenceMatcher(None, key, normalise(best.name)).ratio() >= 0.85:
        return best.slug
    return ""


def _entered_stage(key: str, stages: Sequence[StageRef]) -> str | None:
    """'date entered qualified', 'engage date', 'proposal_date' -> the stage's slug."""
    if not (key.startswith(("date ", "entered ")) or key.endswith((" date", " at", " on"))):
        return None
    match = _ENTERED.match(key)
    word = match.group(1) if match else key
    for stage in stages:
        names = {stage.slug, normalise(stage.name), *STAGE_SYNONYMS.get(stage.slug, ())}
        if word in names or any(n.startswith(word) and len(word) >= 4 for n in names):
            return stage.slug
    return None


def column_guess(
    header: str,
    values: Sequence[str],
    *,
    stages: Sequence[StageRef],
    characteristics: Sequence[CharacteristicRef],
) -> str:
    """A column's role from its header, else from its values. A CRM's own bookkeeping (ids,
    'Last Modified', 'Created By', fiscal periods) is ignored, never a characteristic."""
    key, raw = header_key(header), normalise(header)
    for target, names in HEADER_TARGETS.items():
        if key in names or raw in names:
            return target
    if slug := _entered_stage(key, stages):
        return f"entered:{slug}"
    for c in characteristics:
        if key in {c.slug.replace("-", " "), normalise(c.name)}:
            return f"characteristic:{c.slug}"
    if system_field(key):
        return "ignore"
    return _guess_from_values(key, values, stages)


_AMOUNT_WORDS = {"amount", "value", "revenue", "price", "total", "arr", "mrr", "acv", "deal size"}
_OWNER_WORDS = {"owner", "agent", "rep", "seller", "salesperson", "user", "assigned"}
_PERSON = re.compile(r"^[A-Z][a-z'\-]+(?: [A-Z][a-z'\-]+){1,3}$")


def _guess_from_values(key: str, values: Sequence[str], stages: Sequence[StageRef]) -> str:
    words = set(key.split())
    kind = value_kind(values)
    distinct = {v.strip() for v in values if v.strip()}
    if kind == DATE:
        for target, hints in (
            ("created_at", {"created", "create", "opened", "open"}),
            ("won_at", {"won"}),
            ("lost_at", {"lost"}),
            ("closed_at", {"close", "closed", "closing"}),
        ):
            if words & hints:
                return target
        return "ignore"
    if kind in (AMOUNT, NUMBER) and words & _AMOUNT_WORDS:
        return "amount"
    people = sum(1 for v in distinct if _PERSON.match(v) or "@" in v)
    if kind in (LABEL, TEXT) and words & _OWNER_WORDS and people >= 0.8 * len(distinct):
        return "owner"
    if kind == LABEL:
        known = sum(1 for v in distinct if stage_value_guess(v, stages))
        if "stage" in words or known >= max(2, 0.5 * len(distinct)):
            return "stage"
    if kind in (ID, DATE, AMOUNT, NUMBER, TEXT, EMPTY):
        return "ignore"
    # A categorical column (few distinct, non-numeric values) is a characteristic worth keeping.
    if distinct and len(distinct) <= 20:
        return "new_characteristic"
    return "ignore"


def mapping_guess(
    header: Sequence[str],
    sample: Sequence[Sequence[str]],
    *,
    stages: Sequence[StageRef],
    characteristics: Sequence[CharacteristicRef],
) -> dict:
    """A complete mapping guessed from the header and the first rows."""
    columns: dict[str, str] = {}
    taken: set[str] = set()
    for i, name in enumerate(header):
        target = column_guess(
            name,
            [row[i] for row in sample],
            stages=stages,
            characteristics=characteristics,
        )
        if target in SINGLE_USE and target in taken:
            target = "ignore"
        taken.add(target)
        columns[name] = target
    return mapping_derived(header, sample, columns, stages=stages)


def mapping_derived(
    header: Sequence[str],
    sample: Sequence[Sequence[str]],
    columns: dict[str, str],
    *,
    stages: Sequence[StageRef],
) -> dict:
    """The rest of a mapping, from its columns: the shape, the date format, the stage labels."""
    taken = set(columns.values())
    date_values = [
        row[i]
        for i, name in enumerate(header)
        if columns[name] in {"occurred_at", "created_at", "closed_at", "won_at", "lost_at"}
        or columns[name].startswith("entered:")
        for row in sample
        if row[i].strip()
    ]
    ids = [row[header.index(n)] for n, t in columns.items() if t == "deal_id" for row in sample]
    repeated_ids = len(set(ids)) < len(ids)
    shape = "events" if "occurred_at" in taken or "event_id" in taken or repeated_ids else "deals"
    stage_values: dict[str, str] = {}
    for i, name in enumerate(header):
        if columns[name] == "stage":
            for row in sample:
                if row[i].strip():
                    stage_values[row[i].strip()] = stage_value_guess(row[i], stages)
    return {
        "shape": shape,
        "date_format": date_format_guess(date_values),
        "columns": columns,
        "stage_values": stage_values,
        "create_missing_owners": False,
        "default_date": "",
        "on_repeated_deal": "error",
        "decimal_comma": False,
    }


def mapping_complete(mapping: dict, header: Sequence[str]) -> dict:
    """The mapping with every key present and a target for every column of this header."""
    columns = dict(mapping.get("columns") or {})
    full = {
        "shape": mapping.get("shape") if mapping.get("shape") in SHAPES else "deals",
        "date_format": mapping.get("date_format") or "iso",
        "columns": {name: columns.get(name, "ignore") for name in header},
        "stage_values": dict(mapping.get("stage_values") or {}),
        "create_missing_owners": bool(mapping.get("create_missing_owners", False)),
        "default_date": mapping.get("default_date") or "",
        "on_repeated_deal": mapping.get("on_repeated_deal") or "error",
        "decimal_comma": bool(mapping.get("decimal_comma", False)),
    }
    if mapping.get("preset"):
        full["preset"] = str(mapping["preset"])
    names = mapping.get("owner_names")
    if isinstance(names, dict) and names:
        full["owner_names"] = {str(k): str(v) for k, v in names.items()}
    return full


def target_choices(
    *, stages: Sequence[StageRef], characteristics: Sequence[CharacteristicRef]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped (value, label) choices for a column's dropdown."""
    return [
        ("Deal", [(k, v) for k, v in SIMPLE_TARGETS.items() if k != "new_characteristic"]),
        ("Date the deal entered a stage", [(f"entered:{s.slug}", s.name) for s in stages]),
        (
            "Characteristic",
            [(f"characteristic:{c.slug}", c.name) for c in characteristics]
            + [("new_characteristic", SIMPLE_TARGETS["new_characteristic"])],
        ),
    ]


def target_is_known(
    target: str, *, stages: Sequence[StageRef], characteristics: Sequence[CharacteristicRef]
) -> bool:
    if target in SIMPLE_TARGETS:
        return True
    kind, _, slug = target.partition(":")
    if kind == "entered":
        return any(s.slug == slug for s in stages)
    if kind == "characteristic":
        return any(c.slug == slug for c in characteristics)
    return False
