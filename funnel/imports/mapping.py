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
lost_reason, owner, account, amount, source, department, created_at, closed_at,
entered:<stage slug>, characteristic:<slug>, new_characteristic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from funnel.imports.parsing import date_format_guess

SHAPES = ("deals", "events")
DEAL_ATTRIBUTES = ("owner", "account", "amount", "source", "department")
SIMPLE_TARGETS: dict[str, str] = {
    "ignore": "Ignore this column",
    "deal_id": "Deal id",
    "event_id": "Event id (one row per event)",
    "occurred_at": "Event time (one row per event)",
    "stage": "Stage or outcome",
    "lost_reason": "Lost reason",
    "owner": "Owner (email or full name)",
    "account": "Account",
    "amount": "Amount",
    "source": "Source",
    "department": "Prospect department",
    "created_at": "Created date",
    "closed_at": "Closed date",
    "new_characteristic": "New characteristic (one choice per value)",
}
SINGLE_USE = {"deal_id", "event_id", "occurred_at", "stage", "lost_reason", "created_at"}
SINGLE_USE |= {"closed_at", *DEAL_ATTRIBUTES}


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


_HEADER_TARGETS: dict[str, set[str]] = {
    "deal_id": {
        "opportunity id",
        "opportunity number",
        "opportunity",
        "deal id",
        "deal",
        "id",
        "record id",
        "external id",
        "deal external id",
        "opportunityid",
    },
    "event_id": {"event id", "event", "change id", "history id"},
    "occurred_at": {"occurred at", "event date", "event time", "timestamp", "changed at", "date"},
    "stage": {
        "stage",
        "deal stage",
        "sales stage",
        "stage name",
        "opportunity stage",
        "opportunity result",
        "result",
        "outcome",
        "status",
        "won lost",
    },
    "lost_reason": {"lost reason", "loss reason", "reason lost", "closed lost reason"},
    "owner": {
        "owner",
        "owner email",
        "owner name",
        "deal owner",
        "opportunity owner",
        "sales agent",
        "agent",
        "sales rep",
        "rep",
        "salesperson",
        "account executive",
    },
    "account": {"account", "account name", "company", "company name", "client", "customer"},
    "amount": {
        "amount",
        "deal amount",
        "deal value",
        "value",
        "close value",
        "opportunity amount",
        "opportunity amount usd",
        "amount usd",
    },
    "source": {"source", "lead source", "origin", "lead origin"},
    "department": {"department", "prospect department", "dept"},
    "created_at": {"created", "created date", "create date", "created at", "open date", "opened"},
    "closed_at": {"close date", "closed date", "closed at", "closing date", "date closed"},
}
_ENTERED = re.compile(r"^(?:date entered |entered |date )?(.+?)(?: date| at| on)?$")
_WON = {"won", "win", "closed won", "closedwon", "success", "successful"}
_LOST = {"lost", "loss", "lose", "closed lost", "closedlost", "failed", "dead"}
# Labels CRMs commonly give the stages our default funnel starts with.
_STAGE_SYNONYMS: dict[str, set[str]] = {
    "inquiry": {"prospecting", "prospect", "lead", "new", "inbound", "identified", "inquiry"},
    "engaged": {"engaging", "engage", "contacted", "engaged", "meeting", "discovery"},
    "qualified": {"qualification", "qualify", "qualified", "validated", "validation"},
    "proposal": {"proposal", "quote", "proposal price quote", "value proposition"},
    "negotiation": {"negotiation", "negotiation review", "negotiating", "contract"},
    "handover": {"handover", "onboarding", "implementation"},
}


def stage_value_guess(value: str, stages: Sequence[StageRef]) -> str:
    """Our stage slug (or won/lost) for one of the CRM's stage labels; '' when unsure."""
    key = normalise(value)
    if key in _WON:
        return "won"
    if key in _LOST:
        return "lost"
    for stage in stages:
        if key in {stage.slug, normalise(stage.name)} or key in _STAGE_SYNONYMS.get(stage.slug, ()):
            return stage.slug
    return ""


def _entered_stage(key: str, stages: Sequence[StageRef]) -> str | None:
    """'date entered qualified', 'engage date', 'proposal_date' -> the stage's slug."""
    if not (key.startswith(("date ", "entered ")) or key.endswith((" date", " at", " on"))):
        return None
    match = _ENTERED.match(key)
    word = match.group(1) if match else key
    for stage in stages:
        names = {stage.slug, normalise(stage.name), *_STAGE_SYNONYMS.get(stage.slug, ())}
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
    key = normalise(header)
    for target, names in _HEADER_TARGETS.items():
        if key in names:
            return target
    if slug := _entered_stage(key, stages):
        return f"entered:{slug}"
    for c in characteristics:
        if key in {c.slug.replace("-", " "), normalise(c.name)}:
            return f"characteristic:{c.slug}"
    # A categorical column (few distinct, non-numeric values) is a characteristic worth keeping.
    distinct = {v.strip() for v in values if v.strip()}
    numeric = all(re.fullmatch(r"-?[\d.,]+", v) for v in distinct)
    if distinct and len(distinct) <= 20 and not numeric:
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
    date_values = [
        row[i]
        for i, name in enumerate(header)
        if columns[name] in {"occurred_at", "created_at", "closed_at"}
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
