"""Export shapes a CRM writes, recognised from the header: a Salesforce opportunity report or
opportunity-history report, HubSpot deals (with their "Date entered <stage> (<pipeline>)"
columns), Pipedrive deals, and a plain event log (deal id, stage, time). A preset fixes the roles
its header names; every other column keeps the generic guess (header, then values).

Pure functions over the header and sample rows; facts.py feeds them the team's stages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from funnel.imports.mapping import (
    SINGLE_USE,
    CharacteristicRef,
    StageRef,
    header_key,
    mapping_derived,
    mapping_guess,
    stage_value_guess,
)
from funnel.imports.values import DATE, ID, LABEL, value_kind


@dataclass(frozen=True, slots=True)
class Preset:
    slug: str
    label: str
    shape: str
    # header_key -> target, for the columns whose role the product fixes
    roles: dict[str, str]


SALESFORCE_OPPORTUNITY = Preset(
    "salesforce-opportunity",
    "Salesforce opportunity report",
    "deals",
    {
        "opportunity id": "deal_id",
        "id": "deal_id",
        "stage": "stage",
        "stage name": "stage",
        "created date": "created_at",
        "close date": "closed_at",
        "amount": "amount",
        "opportunity owner": "owner",
        "owner id": "owner",
        "owner name": "owner",
        "account name": "account",
        "lead source": "source",
        "loss reason": "lost_reason",
        "closed lost reason": "lost_reason",
    },
)
SALESFORCE_HISTORY = Preset(
    "salesforce-opportunity-history",
    "Salesforce opportunity history report",
    "events",
    {
        "opportunity id": "deal_id",
        "opp id": "deal_id",
        "to stage": "stage",
        "stage name": "stage",
        "stage": "stage",
        "edit date": "occurred_at",
        "created date": "occurred_at",
        "last modified": "ignore",
        "from stage": "ignore",
        "amount": "amount",
        "opportunity owner": "owner",
        "owner id": "owner",
        "account name": "account",
    },
)
HUBSPOT_DEALS = Preset(
    "hubspot-deals",
    "HubSpot deals",
    "deals",
    {
        "record id": "deal_id",
        "deal stage": "stage",
        "create date": "created_at",
        "close date": "closed_at",
        "amount": "amount",
        "deal owner": "owner",
        "associated company": "account",
        "original source type": "source",
        "closed lost reason": "lost_reason",
    },
)
PIPEDRIVE_DEALS = Preset(
    "pipedrive-deals",
    "Pipedrive deals",
    "deals",
    {
        "id": "deal_id",
        "stage": "stage",
        "status": "outcome",
        "deal created": "created_at",
        "won time": "won_at",
        "lost time": "lost_at",
        "deal closed on": "ignore",
        "owner": "owner",
        "organization": "account",
        "value": "amount",
        "source": "source",
        "lost reason": "lost_reason",
    },
)
EVENT_LOG = Preset("event-log", "Event log: one row per stage change", "events", {})

# "Date entered "Appointment Scheduled (Sales Pipeline)"", with or without the quotes.
_HUBSPOT_ENTERED = re.compile(r'^date entered\s+"?(.+?)\s*\(([^)]*)\)"?\s*$', re.I)


def hubspot_entered_stage(header: str) -> str | None:
    """'Date entered "Contract Sent (Sales Pipeline)"' -> 'Contract Sent'."""
    match = _HUBSPOT_ENTERED.match(header.strip())
    return match.group(1).strip().strip('"') if match else None


def preset_detect(header: Sequence[str], sample: Sequence[Sequence[str]]) -> Preset | None:
    keys = {header_key(h) for h in header}
    if {"from stage", "to stage"} & keys or (
        keys & {"opp id", "opportunity id"}
        and keys & {"stage name", "stage", "to stage"}
        and keys & {"created date", "edit date"}
        and len(keys) <= 8
    ):
        return SALESFORCE_HISTORY
    if "record id" in keys and keys & {"deal stage", "deal name"}:
        return HUBSPOT_DEALS
    if any(hubspot_entered_stage(h) for h in header):
        return HUBSPOT_DEALS
    if keys & {"won time", "lost time", "deal created"} and "stage" in keys:
        return PIPEDRIVE_DEALS
    if "stage name" in keys or keys & {"opportunity id", "opportunity owner", "opportunity name"}:
        return SALESFORCE_OPPORTUNITY
    if _event_log(header, sample):
        return EVENT_LOG
    return None


def _event_log(header: Sequence[str], sample: Sequence[Sequence[str]]) -> bool:
    """A narrow file with a repeating id, a label and a time: one row per event."""
    if len(header) > 8 or len(sample) < 3:
        return False
    kinds = [value_kind([row[i] for row in sample]) for i in range(len(header))]
    repeats = [
        i
        for i in range(len(header))
        if len({row[i] for row in sample}) < len(sample) and kinds[i] in (ID, LABEL)
    ]
    return DATE in kinds and LABEL in kinds and bool(repeats)


def _event_log_roles(header, sample, stages) -> dict[str, str]:
    """The deal id (the first repeating id column), the stage (the label column most like
    stage names) and the time (the first date column)."""
    roles: dict[str, str] = {}
    columns = [[row[i] for row in sample] for i in range(len(header))]
    kinds = [value_kind(c) for c in columns]
    for i, name in enumerate(header):
        repeats = len(set(columns[i])) < len(sample)
        if repeats and header_key(name).split()[-1:] in (["id"], ["case"], ["deal"], ["key"]):
            roles[name] = "deal_id"
            break
    if "deal_id" not in roles.values():
        first = next((i for i, k in enumerate(kinds) if k == ID), None)
        if first is not None:
            roles[header[first]] = "deal_id"
    labels = [i for i, k in enumerate(kinds) if k == LABEL and header[i] not in roles]
    if labels:
        best = max(
            labels,
            key=lambda i: (
                "stage" in header_key(header[i]),
                "activ" in header_key(header[i]),
                len(set(columns[i])),
            ),
        )
        roles[header[best]] = "stage"
    date = next((i for i, k in enumerate(kinds) if k == DATE), None)
    if date is not None:
        roles[header[date]] = "occurred_at"
    return roles


def mapping_propose(
    header: Sequence[str],
    sample: Sequence[Sequence[str]],
    *,
    stages: Sequence[StageRef],
    characteristics: Sequence[CharacteristicRef],
) -> dict:
    """The mapping the wizard proposes: the generic guess, with the roles the recognised
    export shape fixes, and one stage event per HubSpot "Date entered" column."""
    mapping = mapping_guess(header, sample, stages=stages, characteristics=characteristics)
    preset = preset_detect(header, sample)
    if preset is None:
        return mapping
    columns = mapping["columns"]
    roles = _event_log_roles(header, sample, stages) if preset is EVENT_LOG else {}
    for name in header:
        key = header_key(name)
        if name in roles:
            columns[name] = roles[name]
        elif key in preset.roles:
            columns[name] = preset.roles[key]
        elif (label := hubspot_entered_stage(name)) is not None:
            slug = stage_value_guess(label, stages)
            columns[name] = f"entered:{slug}" if slug not in ("", "won", "lost") else "ignore"
        elif preset.shape == "events" and columns[name] in ("created_at", "closed_at"):
            columns[name] = "ignore"  # a history row's dates are the event's time
        elif columns[name] in ("deal_id", "stage", "occurred_at") and columns[name] in set(
            roles.values()
        ):
            columns[name] = "ignore"  # the role went to another column
    _one_column_each(header, columns)
    proposed = mapping_derived(header, sample, columns, stages=stages)
    proposed["preset"] = preset.slug
    proposed["shape"] = preset.shape
    proposed["create_missing_owners"] = "owner" in columns.values()
    return proposed


def _one_column_each(header: Sequence[str], columns: dict[str, str]) -> None:
    """A target that takes one column keeps its first; a stage's 'entered' date, too."""
    taken: set[str] = set()
    for name in header:
        target = columns[name]
        if target in taken and (target in SINGLE_USE or target.startswith("entered:")):
            columns[name] = "ignore"
        taken.add(columns[name])
